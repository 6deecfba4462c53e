#include "logging.hpp"

#include <cstdlib>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/sinks/systemd_sink.h>
#include <spdlog/spdlog.h>

namespace tcptune::daemon {

namespace {

// What makes two records "the same condition": everything but the timestamp,
// the live value it was observed against and the numbers in the detail (a
// cooldown refusal counts down its remaining seconds on every poll).
std::string condition_of(const ChangeRecord& record) {
    std::string detail;
    for (char c : record.detail) {
        if (c < '0' || c > '9') {
            detail += c;
        }
    }
    return std::string(to_string(record.result)) + '\x1f' + record.new_value + '\x1f' +
           record.rule + '\x1f' + detail;
}

}  // namespace

void setup_logging(LogLevel level) {
    std::shared_ptr<spdlog::logger> logger;
    if (std::getenv("JOURNAL_STREAM") != nullptr) {
        // Structured journal entries with the right priority; journald adds
        // the time and the unit, so the pattern is just the message.
        auto sink = std::make_shared<spdlog::sinks::systemd_sink_mt>("tcptuned");
        logger = std::make_shared<spdlog::logger>("tcptuned", sink);
        logger->set_pattern("%v");
    } else {
        logger = std::make_shared<spdlog::logger>(
            "tcptuned", std::make_shared<spdlog::sinks::stderr_sink_mt>());
        logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %l %v");
    }
    logger->flush_on(spdlog::level::trace);  // a crash must not eat the last lines
    spdlog::set_default_logger(logger);
    set_log_level(level);
}

void set_log_level(LogLevel level) {
    // spdlog knows our level names (trace ... warning ... off).
    spdlog::set_level(spdlog::level::from_str(std::string(to_string(level))));
}

std::string ChangeLogger::format_change(const ChangeRecord& record) {
    std::string line = describe(record);
    if (!record.reason.empty()) {
        line += "; why: " + record.reason;
    }
    if (!record.replay_command.empty() && record.result != ChangeResult::kSkipped) {
        line += "; replay: " + record.replay_command;
    }
    return line;
}

void ChangeLogger::on_poll(const CensusSnapshot& /*snapshot*/) {
    if (last_poll_error_) {
        spdlog::info("{}census recovered after {} failed poll(s) ({})", prefix_,
                     repeated_poll_errors_ + 1, *last_poll_error_);
        last_poll_error_.reset();
        repeated_poll_errors_ = 0;
    }
}

void ChangeLogger::on_poll_error(const Error& error) {
    if (last_poll_error_ == error.message) {
        ++repeated_poll_errors_;
        spdlog::debug("{}census failed again: {}", prefix_, error.message);
        return;
    }
    last_poll_error_ = error.message;
    repeated_poll_errors_ = 0;
    spdlog::error("{}census failed: {} (retrying every poll; logged again when it changes)",
                  prefix_, error.message);
}

void ChangeLogger::on_rule_changed(const RuleStatus& status) {
    const std::string observed =
        status.last_observed ? format_number(*status.last_observed) : std::string("?");
    // Per-listener and per-destination rules name where the pressure is.
    const std::string where =
        status.subject.empty() ? std::string() : " on " + status.subject + ": " + status.reading;
    if (status.active) {
        spdlog::warn("{}rule {} fired: {} is {} (threshold {}){}", prefix_, status.name,
                     status.metric, observed, status.threshold, where);
    } else {
        spdlog::info("{}rule {} cleared: {} is {} (threshold {})", prefix_, status.name,
                     status.metric, observed, status.threshold);
    }
}

namespace {

// How loud a change is: events at info, what an operator must act on at warn and
// error, a skipped write (nothing to do) at debug.
spdlog::level::level_enum level_of(ChangeResult result) {
    switch (result) {
        case ChangeResult::kApplied:
        case ChangeResult::kRestored:
        case ChangeResult::kResumed:
        case ChangeResult::kAdvised:
            return spdlog::level::info;
        case ChangeResult::kSkipped:
            return spdlog::level::debug;
        case ChangeResult::kRefused:
        case ChangeResult::kOverridden:
            return spdlog::level::warn;
        case ChangeResult::kFailed:
            return spdlog::level::err;
    }
    return spdlog::level::err;
}

}  // namespace

void ChangeLogger::on_change(const ChangeRecord& record) {
    // Only outcomes that can recur poll after poll for one cause are folded;
    // every applied, restored, overridden or resumed record is an event.
    const bool can_recur = record.result == ChangeResult::kRefused ||
                           record.result == ChangeResult::kFailed ||
                           record.result == ChangeResult::kSkipped;
    bool repeat = false;
    if (can_recur) {
        std::string condition = condition_of(record);
        auto [it, inserted] = last_by_key_.try_emplace(record.key, condition);
        repeat = !inserted && it->second == condition;
        it->second = std::move(condition);
    } else {
        last_by_key_.erase(record.key);
    }
    // A repeat of the same condition goes to debug: the first one was said.
    const auto level = repeat ? spdlog::level::debug : level_of(record.result);
    spdlog::log(level, "{}{}", prefix_, format_change(record));
}

void ChangeLogger::on_profile_changed(const std::string& profile) {
    spdlog::info("{}profile {} active", prefix_, profile);
}

}  // namespace tcptune::daemon
