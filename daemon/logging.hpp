#pragma once

// spdlog set-up and the observer that turns controller events into log lines.
// Under systemd (JOURNAL_STREAM set) lines go to the journal with their
// priority; otherwise to stderr.

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "tcptune/config/daemon_config.hpp"
#include "tcptune/engine/controller.hpp"

namespace tcptune::daemon {

void setup_logging(LogLevel level);
void set_log_level(LogLevel level);

// One line per change, with the scenario (profile, rule), the why, old -> new
// and the replay command. A condition that repeats every poll (the same refusal,
// the same failure, the same census error) is logged when it starts and when it
// ends, not on every poll.
class ChangeLogger final : public ControllerObserver {
  public:
    // `prefix` starts every line: "netns edge: " for another namespace's controller.
    explicit ChangeLogger(std::string prefix = {}) : prefix_(std::move(prefix)) {}
    void on_poll(const CensusSnapshot& snapshot) override;
    void on_poll_error(const Error& error) override;
    void on_rule_changed(const RuleStatus& status) override;
    void on_change(const ChangeRecord& record) override;
    void on_profile_changed(const std::string& profile) override;

    // The line on_change logs (without repetition handling), for tests and docs.
    static std::string format_change(const ChangeRecord& record);

  private:
    std::string prefix_;
    // Last record logged per key, to recognise repeats.
    std::map<std::string, std::string> last_by_key_;
    std::optional<std::string> last_poll_error_;
    std::uint64_t repeated_poll_errors_ = 0;
};

}  // namespace tcptune::daemon
