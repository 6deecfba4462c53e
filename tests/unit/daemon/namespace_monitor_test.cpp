#include "namespace_monitor.hpp"

#include <chrono>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

namespace tcptune {
namespace {

using namespace std::chrono_literals;

// An engine for which one namespace fails every round (as one whose owner denies
// us, or one torn down under the census), and one is counted.
class FailingEngine final : public NamespaceCensusEngine {
  public:
    std::string_view name() const override { return "fake"; }
    Result<NamespaceCensusReport> count(std::span<const NetnsInfo> /*namespaces*/) override {
        NamespaceCensusReport report;
        NetnsInfo locked;
        locked.name = "pod:locked";
        locked.id = {4026532999, 4};
        report.failed.push_back({locked, Error{ErrorCode::kPermissionDenied,
                                               "cannot enter network namespace pod:locked"}});
        NamespaceCounts fine;
        fine.ns.name = "edge";
        report.namespaces.push_back(fine);
        return report;
    }
};

class NamespaceMonitorLog : public ::testing::Test {
  protected:
    void SetUp() override {
        saved_ = spdlog::default_logger();
        auto logger = std::make_shared<spdlog::logger>(
            "test", std::make_shared<spdlog::sinks::ostream_sink_mt>(lines_));
        logger->set_pattern("%l %v");
        spdlog::set_default_logger(logger);
    }
    void TearDown() override { spdlog::set_default_logger(saved_); }

    // Runs a monitor until `rounds` rounds and `at_least` have passed; the log then.
    std::string run(std::size_t rounds, std::chrono::milliseconds at_least,
                    std::chrono::seconds window) {
        const auto started = std::chrono::steady_clock::now();
        {
            NamespaceMonitor monitor(std::make_unique<FailingEngine>(), 5ms, window);
            const auto deadline = started + 30s;
            while ((monitor.rounds() < rounds ||
                    std::chrono::steady_clock::now() - started < at_least) &&
                   std::chrono::steady_clock::now() < deadline) {
                std::this_thread::sleep_for(5ms);
            }
            EXPECT_GE(monitor.rounds(), rounds);
            EXPECT_EQ(monitor.latest().size(), 1U) << "a failing namespace does not stop the rest";
        }  // joined: nothing writes the log any more
        return lines_.str();
    }

    static std::size_t count_of(const std::string& text, const std::string& what) {
        std::size_t n = 0;
        for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
            ++n;
        }
        return n;
    }

    std::ostringstream lines_;
    std::shared_ptr<spdlog::logger> saved_;
};

TEST_F(NamespaceMonitorLog, AFailingNamespaceIsLoggedOnceNotEveryRound) {
    const std::string text = run(20, 0ms, std::chrono::hours(1));
    EXPECT_EQ(count_of(text,
                       "warning namespaces: pod:locked (inode 4026532999) could not be "
                       "counted: cannot enter network namespace pod:locked"),
              1U)
        << text;
    EXPECT_EQ(count_of(text, "\n"), 1U) << text;
}

TEST_F(NamespaceMonitorLog, ThenOncePerWindowWithTheNumberOfRoundsSuppressed) {
    const std::string text = run(3, 2500ms, 1s);
    const std::size_t lines = count_of(text, "could not be counted");
    EXPECT_GE(lines, 2U) << text;
    EXPECT_LE(lines, 3U) << text;
    EXPECT_NE(text.find(" similar lines for this namespace suppressed)"), std::string::npos)
        << text;
}

}  // namespace
}  // namespace tcptune
