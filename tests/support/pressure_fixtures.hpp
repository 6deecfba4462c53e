#pragma once

// Pressure signals built by hand, for pure tests of what consumes them (rule
// engine, controller, metrics) without a socket dump.

#include <cstdint>
#include <string>

#include "tcptune/pressure/pressure_signals.hpp"

namespace tcptune::test {

// An IPv4 address ("127.0.0.5") with an optional port.
Endpoint ipv4(const std::string& address, std::uint16_t port = 0);

// A listener at ADDRESS:PORT with these queues and backlog.
ListenerQueues listener_queues(const std::string& address, std::uint16_t port,
                               std::uint32_t syn_queue, std::uint32_t queued,
                               std::uint32_t backlog);

}  // namespace tcptune::test
