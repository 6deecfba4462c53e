#pragma once

// tcptuned's command line. The merged settings (defaults <- config file <- flags)
// are a tcptune::DaemonOptions (core/tcptune/config/daemon_config.hpp); the D-Bus
// service and the metrics exporter read `bus` and `metrics_address` from it.

#include <optional>

#include "tcptune/census/census_open.hpp"
#include "tcptune/config/daemon_config.hpp"
#include "tcptune/engine/controller.hpp"
#include "tcptune/engine/namespace_fleet.hpp"

namespace tcptune::daemon {

using tcptune::BusKind;
using tcptune::DaemonOptions;
using tcptune::DaemonOverrides;

// Exit codes of tcptuned (mirroring the CLI where they overlap).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;  // bad flags or a bad config file
inline constexpr int kExitInvalidProfile = 6;

// Parses argv into `flags`. Returns an exit code when the program should end
// now (--help, --version: 0; a usage error: 2, already printed).
std::optional<int> parse_command_line(int argc, char** argv, DaemonOverrides& flags);

// The controller's part of the options.
ControllerConfig controller_config(const DaemonOptions& options);

// The daemon's own controller: controller_config, with the namespaces.select entry
// that selects "host" under watch: all (namespace_config.hpp's host_selector_profile)
// in force: its profile, or for `none` the configured profile in advice mode (the
// host watched, never written).
ControllerConfig host_controller_config(const DaemonOptions& options);

// The per-namespace profiles' part (watch: all): controller_config as the base of
// every other namespace's controller (never the host's select entry).
NamespaceFleetConfig namespace_fleet_config(const DaemonOptions& options);

// The census engine's part. TCPTUNE_TEST_BPF_REJECT=1 in the environment makes
// the kernel's verifier reject the bpf program (the tests' way to a real load
// failure; an operator never needs it).
CensusEngineOptions census_engine_options(const DaemonOptions& options);

}  // namespace tcptune::daemon
