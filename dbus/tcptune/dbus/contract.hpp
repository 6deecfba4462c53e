#pragma once

// The D-Bus contract of net.tcptune.Manager1, spelled once for the daemon, the
// CLI and the tests. The method and signal signatures live in
// net.tcptune.Manager1.xml (the generated adaptor and proxy carry them); the
// names and wire types the XML cannot express live here. docs/dbus-api.md is the
// operator's view of the same contract.

#include <cstdint>
#include <memory>
#include <string>

#include <sdbus-c++/sdbus-c++.h>

#include "tcptune/apply/change_record.hpp"
#include "tcptune/config/daemon_config.hpp"
#include "tcptune/result.hpp"

namespace tcptune::dbus {

inline constexpr const char* kServiceName = "net.tcptune";
inline constexpr const char* kObjectPath = "/net/tcptune/Manager1";
inline constexpr const char* kInterfaceName = "net.tcptune.Manager1";

// Error names a client can receive (documented in docs/dbus-api.md).
namespace error {
inline constexpr const char* kAccessDenied = "org.freedesktop.DBus.Error.AccessDenied";
inline constexpr const char* kInvalidArgs = "org.freedesktop.DBus.Error.InvalidArgs";
// Too many expensive calls waiting, from this connection or in total.
inline constexpr const char* kLimitsExceeded = "org.freedesktop.DBus.Error.LimitsExceeded";
inline constexpr const char* kInvalidProfile = "net.tcptune.Error.InvalidProfile";
inline constexpr const char* kNotFound = "net.tcptune.Error.NotFound";
inline constexpr const char* kRefused = "net.tcptune.Error.Refused";
inline constexpr const char* kCorruptJournal = "net.tcptune.Error.CorruptJournal";
inline constexpr const char* kFailed = "net.tcptune.Error.Failed";
inline constexpr const char* kInternal = "net.tcptune.Error.Internal";
}  // namespace error

// The D-Bus error name for a tcptune error class.
const char* error_name(ErrorCode code);

// True for the bus errors that mean "nobody is serving net.tcptune here" (no
// owner, no reply, timeout, disconnected), as opposed to an answer that failed.
bool means_unreachable(const std::string& error_name);

// A change record on the wire: (sssssssssx) = key, old, new, profile, rule,
// reason, result, detail, replay command, time in µs since the epoch.
using ChangeStruct =
    sdbus::Struct<std::string, std::string, std::string, std::string, std::string, std::string,
                  std::string, std::string, std::string, std::int64_t>;
ChangeStruct to_wire(const ChangeRecord& record);
// The inverse, for clients: a result word the record types do not know is kParse.
Result<ChangeRecord> from_wire(const ChangeStruct& wire);

// Microseconds since the Unix epoch, the wire's time unit.
std::int64_t to_unix_usec(std::chrono::system_clock::time_point at);
std::chrono::system_clock::time_point from_unix_usec(std::int64_t usec);

// Opens the system bus (sd_bus_open_system honours DBUS_SYSTEM_BUS_ADDRESS) or the
// session bus. Throws sdbus::Error; BusKind::kNone is a caller's bug and throws too.
std::unique_ptr<sdbus::IConnection> open_bus(BusKind bus);

}  // namespace tcptune::dbus
