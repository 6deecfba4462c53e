#include "event_loop.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace tcptune::daemon {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<EventLoop> make_loop() {
    auto loop = EventLoop::create();
    EXPECT_TRUE(loop.has_value());
    return std::move(*loop);
}

class Pipe {
  public:
    Pipe() { EXPECT_EQ(::pipe(fds_), 0); }
    ~Pipe() {
        ::close(fds_[0]);
        ::close(fds_[1]);
    }
    int read_end() const { return fds_[0]; }
    void write_byte() const { EXPECT_EQ(::write(fds_[1], "x", 1), 1); }
    void drain() const {
        char c = 0;
        EXPECT_EQ(::read(fds_[0], &c, 1), 1);
    }

  private:
    int fds_[2] = {-1, -1};
};

TEST(EventLoopTest, OneShotTimerFiresOnceAfterItsDelay) {
    auto loop = make_loop();
    int fired = 0;
    const auto start = std::chrono::steady_clock::now();
    std::chrono::steady_clock::duration elapsed{};
    const auto timer = loop->add_timer([&] {
        ++fired;
        elapsed = std::chrono::steady_clock::now() - start;
        loop->stop();
    });
    loop->arm_timer(timer, 30ms);
    loop->run();
    EXPECT_EQ(fired, 1);
    EXPECT_GE(elapsed, 30ms);
    // One wake-up for the timer: the loop does not spin while it waits.
    EXPECT_LE(loop->wakeups(), 2U);
}

TEST(EventLoopTest, RearmingFromTheCallbackGivesAPeriodicTickWithoutStacking) {
    auto loop = make_loop();
    int ticks = 0;
    EventLoop::TimerId timer = 0;
    timer = loop->add_timer([&] {
        if (++ticks == 5) {
            loop->stop();
            return;
        }
        loop->arm_timer(timer, 1ms);
    });
    loop->arm_timer(timer, 1ms);
    loop->run();
    EXPECT_EQ(ticks, 5);
}

TEST(EventLoopTest, DisarmedTimerNeverFires) {
    auto loop = make_loop();
    bool fired = false;
    const auto doomed = loop->add_timer([&] { fired = true; });
    const auto finish = loop->add_timer([&] { loop->stop(); });
    loop->arm_timer(doomed, 20ms);
    loop->arm_timer(doomed, 0ns);
    loop->arm_timer(finish, 50ms);
    loop->run();
    EXPECT_FALSE(fired);
}

TEST(EventLoopTest, WatchedFdCallbackRunsWhenReadableAndUnwatchStopsIt) {
    auto loop = make_loop();
    Pipe pipe;
    int reads = 0;
    loop->watch_fd(pipe.read_end(), EPOLLIN, [&] {
        pipe.drain();
        ++reads;
        loop->unwatch_fd(pipe.read_end());  // unwatching itself from inside is safe
        pipe.write_byte();                  // would fire again if still watched
    });
    const auto finish = loop->add_timer([&] { loop->stop(); });
    pipe.write_byte();
    loop->arm_timer(finish, 30ms);
    loop->run();
    EXPECT_EQ(reads, 1);
}

TEST(EventLoopTest, WatchingAgainReplacesTheCallback) {
    auto loop = make_loop();
    Pipe pipe;
    std::vector<char> calls;
    loop->watch_fd(pipe.read_end(), EPOLLIN, [&] { calls.push_back('a'); });
    loop->watch_fd(pipe.read_end(), EPOLLIN, [&] {
        pipe.drain();
        calls.push_back('b');
        loop->stop();
    });
    pipe.write_byte();
    loop->run();
    EXPECT_EQ(calls, std::vector<char>{'b'});
}

TEST(EventLoopTest, StopFromAnotherThreadWakesABlockedLoop) {
    auto loop = make_loop();
    std::thread stopper([&] {
        std::this_thread::sleep_for(20ms);
        loop->stop();
    });
    loop->run();  // would block forever without the wake-up
    stopper.join();
    SUCCEED();
}

TEST(EventLoopTest, StopBeforeRunReturnsAtOnceAndTheLoopCanRunAgain) {
    auto loop = make_loop();
    loop->stop();
    loop->run();
    int fired = 0;
    const auto timer = loop->add_timer([&] {
        ++fired;
        loop->stop();
    });
    loop->arm_timer(timer, 1ms);
    loop->run();
    EXPECT_EQ(fired, 1);
}

}  // namespace
}  // namespace tcptune::daemon
