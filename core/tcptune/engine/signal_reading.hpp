#pragma once

// Reading a rule's metric from a census snapshot: a state count, a counter's
// increase, the fullest listener, the most occupied destination, a counter rate,
// the retransmission ratio or the dead-peer evidence. Pure functions; the rule
// engine compares the readings with thresholds, status and metrics show them.

#include <optional>
#include <string>

#include "tcptune/census/census_snapshot.hpp"
#include "tcptune/profile/profile.hpp"

namespace tcptune {

struct SignalReading {
    // In the rule's unit: sockets, increase per poll, percent (listener,
    // destination, ratio) or per second (rate).
    double value = 0;
    // Which listener or destination, for per-subject metrics: "127.0.0.5:8080",
    // "127.0.0.1 -> 10.0.0.8:5432"; empty otherwise (or when none has pressure).
    std::string subject;
    // For humans: "SYN queue of 127.0.0.5:8080 512/511 (100.2%)".
    std::string text;
};

// The worst subject's reading; nullopt when the snapshot cannot give it (a first
// poll for increases and rates, signals that were not computed).
std::optional<SignalReading> read_signal(const Metric& metric, const CensusSnapshot& snapshot,
                                         const std::optional<NetstatCounters>& previous_netstat);

// The reading of one subject (by its name from a previous reading); a listener or
// destination that no longer shows pressure reads 0. Non-subject metrics ignore
// `subject`.
std::optional<SignalReading> read_signal_of(const Metric& metric, const std::string& subject,
                                            const CensusSnapshot& snapshot,
                                            const std::optional<NetstatCounters>& previous_netstat);

// What a poll must compute for these metrics.
SignalRequest signals_for(const Metric& metric);
// For every rule of a profile (its `when` and `verify` metrics).
SignalRequest signals_for(const ResolvedProfile& profile);

}  // namespace tcptune
