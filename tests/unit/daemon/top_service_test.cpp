#include "top_service.hpp"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tcptune/diagnosis/diagnosis.hpp"

namespace tcptune::daemon {
namespace {

using namespace std::chrono_literals;

// A compute the test releases by hand, standing in for a slow sock_diag dump.
class Gate {
  public:
    Result<Breakdown> compute(const TopKey& key) {
        std::unique_lock lock(mutex_);
        ++started_;
        keys_.push_back(key);
        cv_.notify_all();
        cv_.wait(lock, [this] { return released_ > 0; });
        --released_;
        Breakdown b;
        b.counts[TcpState::kTimeWait] = static_cast<std::uint64_t>(started_);
        return b;
    }
    void release() {
        std::lock_guard lock(mutex_);
        ++released_;
        cv_.notify_all();
    }
    int started() {
        std::lock_guard lock(mutex_);
        return started_;
    }

    std::vector<TopKey> keys() {
        std::lock_guard lock(mutex_);
        return keys_;
    }

  private:
    std::mutex mutex_;
    std::condition_variable cv_;
    std::vector<TopKey> keys_;
    int started_ = 0;
    int released_ = 0;
};

struct Harness {
    Harness(TopLimits limits = {}) {
        loop = std::move(*EventLoop::create());
        service = std::move(*TopService::create(
            *loop, [this](const TopKey& key) { return gate.compute(key); }, limits));
    }
    // Runs the loop until `done` holds (or two seconds pass).
    template <typename F>
    void run_until(F done) {
        const auto deadline = std::chrono::steady_clock::now() + 2s;
        if (stopper < 0) {
            stopper = loop->add_timer([this] { loop->stop(); });
        }
        while (!done() && std::chrono::steady_clock::now() < deadline) {
            loop->arm_timer(stopper, 10ms);
            loop->run();
        }
    }
    EventLoop::TimerId stopper = -1;
    Gate gate;
    std::unique_ptr<EventLoop> loop;
    std::unique_ptr<TopService> service;
};

TEST(TopService, CallersWaitForOneBreakdownTakenOffTheLoopAndShareIt) {
    Harness h;
    std::vector<std::uint64_t> answers;
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(h.service->request(TopKey{}, ":1.7", [&](const Result<TopService::Shared>& r) {
            ASSERT_TRUE(r);
            answers.push_back((*r)->counts[TcpState::kTimeWait]);
        }));
    }
    // request() returned although the compute has not finished: nothing runs on the loop.
    EXPECT_TRUE(answers.empty());
    h.gate.release();
    h.run_until([&] { return answers.size() == 3; });
    EXPECT_EQ(answers, (std::vector<std::uint64_t>{1, 1, 1}));
    EXPECT_EQ(h.service->computations(), 1U);
    EXPECT_EQ(h.service->waiting(), 0U);

    // Fresh: served at once, no new computation.
    bool served = false;
    ASSERT_TRUE(h.service->request(
        TopKey{}, ":1.8", [&](const Result<TopService::Shared>& r) { served = r.has_value(); }));
    EXPECT_TRUE(served);
    EXPECT_EQ(h.service->computations(), 1U);
}

TEST(TopService, WaitingCallsAreBoundedPerSenderAndInTotal) {
    Harness h(TopLimits{.max_waiting_per_sender = 2, .max_waiting_total = 3});
    int answered = 0;
    auto count = [&](const Result<TopService::Shared>&) { ++answered; };
    EXPECT_TRUE(h.service->request(TopKey{}, ":1.1", count));
    EXPECT_TRUE(h.service->request(TopKey{}, ":1.1", count));
    auto third = h.service->request(TopKey{}, ":1.1", count);
    ASSERT_FALSE(third);
    EXPECT_EQ(third.error().code, ErrorCode::kRefused);
    EXPECT_TRUE(h.service->request(TopKey{}, ":1.2", count));
    EXPECT_FALSE(h.service->request(TopKey{}, ":1.3", count)) << "total bound";
    h.gate.release();
    h.run_until([&] { return answered == 3; });
    EXPECT_EQ(answered, 3);
    EXPECT_EQ(h.service->computations(), 1U);
}

TEST(TopService, AStaleBreakdownIsTakenAgainAndProcessViewsAreSeparate) {
    Harness h(TopLimits{.min_fresh = 1ms, .fresh_factor = 1});
    int answered = 0;
    auto count = [&](const Result<TopService::Shared>&) { ++answered; };
    ASSERT_TRUE(h.service->request(TopKey{}, ":1.1", count));
    ASSERT_TRUE(h.service->request(TopKey{.netns = "", .by_process = true}, ":1.1",
                                   count));  // waits for the worker
    h.gate.release();
    h.run_until([&] { return answered == 1 && h.gate.started() == 2; });
    h.gate.release();
    h.run_until([&] { return answered == 2; });
    EXPECT_EQ(h.service->computations(), 2U);
    std::this_thread::sleep_for(5ms);  // let the 1 ms freshness window pass
    ASSERT_TRUE(h.service->request(TopKey{}, ":1.1", count));
    h.gate.release();
    h.run_until([&] { return answered == 3; });
    EXPECT_EQ(h.service->computations(), 3U);
}

TEST(TopService, NamespacesHaveSlotsOfTheirOwnServedOneAtATimeOldestFirst) {
    Harness h;
    int answered = 0;
    auto count = [&](const Result<TopService::Shared>&) { ++answered; };
    ASSERT_TRUE(h.service->request(TopKey{.netns = "edge", .by_process = false}, ":1.1", count));
    ASSERT_TRUE(h.service->request(TopKey{.netns = "backend", .by_process = false}, ":1.2", count));
    ASSERT_TRUE(h.service->request(TopKey{}, ":1.3", count));
    ASSERT_TRUE(h.service->request(TopKey{.netns = "edge", .by_process = false}, ":1.4",
                                   count));  // shares edge's
    h.run_until([&] { return h.gate.started() == 1; });
    EXPECT_EQ(h.gate.started(), 1) << "one breakdown at a time";
    for (int i = 0; i < 3; ++i) {
        h.gate.release();
    }
    h.run_until([&] { return answered == 4; });
    EXPECT_EQ(answered, 4);
    EXPECT_EQ(h.service->computations(), 3U);
    const std::vector<TopKey> order = {{"edge", false}, {"backend", false}, {"", false}};
    EXPECT_EQ(h.gate.keys(), order);
    // Fresh now: answered from the slot without the worker.
    ASSERT_TRUE(h.service->request(TopKey{.netns = "backend", .by_process = false}, ":1.5", count));
    EXPECT_EQ(answered, 5);
    EXPECT_EQ(h.service->computations(), 3U);
}

TEST(TopService, ACallerNamingEverNewNamespacesIsBoundedByTheWaitingLimits) {
    Harness h(TopLimits{.max_waiting_per_sender = 4, .max_waiting_total = 6});
    auto ignore = [](const Result<TopService::Shared>&) {};
    int refused = 0;
    for (int i = 0; i < 100; ++i) {
        if (!h.service->request(TopKey{.netns = "ns" + std::to_string(i), .by_process = false},
                                ":1.1", ignore)) {
            ++refused;
        }
    }
    EXPECT_EQ(refused, 96);
    EXPECT_EQ(h.service->waiting(), 4U);
    for (int i = 0; i < 4; ++i) {
        h.gate.release();
    }
    h.run_until([&] { return h.service->waiting() == 0; });
    EXPECT_EQ(h.service->computations(), 4U);
}

TEST(TopService, TheDaemonsBreakdownCoversEveryStateAndTheLargestLimit) {
    const BreakdownOptions plain = daemon_breakdown_options(false);
    EXPECT_EQ(plain.states.size(), kAllTcpStates.size());
    EXPECT_EQ(plain.top_n, kMaxTopLimit);
    EXPECT_GE(plain.capacity, kMaxTopLimit);
    EXPECT_TRUE(plain.by_prefix);
    EXPECT_FALSE(plain.by_process);
    EXPECT_TRUE(daemon_breakdown_options(true).by_process);
}

}  // namespace
}  // namespace tcptune::daemon
