#include "tcptune/dbus/contract.hpp"

#include <array>
#include <string_view>

#include "tcptune/enum_names.hpp"

namespace tcptune::dbus {

const char* error_name(ErrorCode code) {
    // I/O, netlink and parse failures share net.tcptune.Error.Failed.
    static constexpr EnumNames<ErrorCode, 9> kNames = {{
        {ErrorCode::kIo, error::kFailed},
        {ErrorCode::kNetlink, error::kFailed},
        {ErrorCode::kParse, error::kFailed},
        {ErrorCode::kInvalidProfile, error::kInvalidProfile},
        {ErrorCode::kNotFound, error::kNotFound},
        {ErrorCode::kRefused, error::kRefused},
        {ErrorCode::kPermissionDenied, error::kAccessDenied},
        {ErrorCode::kCorruptJournal, error::kCorruptJournal},
        {ErrorCode::kInternal, error::kInternal},
    }};
    static_assert(lists_every_value(kNames));
    const auto name = name_of(kNames, code);
    return name == "unknown" ? error::kFailed : name.data();
}

bool means_unreachable(const std::string& error_name) {
    // sd-bus reports its own method-call timeout (ETIMEDOUT) as Error.Timeout;
    // dbus-daemon uses Error.TimedOut and Error.NoReply.
    static constexpr std::array<std::string_view, 8> kNames = {
        "org.freedesktop.DBus.Error.ServiceUnknown", "org.freedesktop.DBus.Error.NameHasNoOwner",
        "org.freedesktop.DBus.Error.NoReply",        "org.freedesktop.DBus.Error.Disconnected",
        "org.freedesktop.DBus.Error.NoServer",       "org.freedesktop.DBus.Error.TimedOut",
        "org.freedesktop.DBus.Error.Timeout",        "org.freedesktop.DBus.Error.UnknownObject",
    };
    for (const auto name : kNames) {
        if (name == error_name) {
            return true;
        }
    }
    return false;
}

std::int64_t to_unix_usec(std::chrono::system_clock::time_point at) {
    return std::chrono::duration_cast<std::chrono::microseconds>(at.time_since_epoch()).count();
}

std::chrono::system_clock::time_point from_unix_usec(std::int64_t usec) {
    return std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::microseconds(usec)));
}

Result<ChangeRecord> from_wire(const ChangeStruct& wire) {
    const auto result = parse_change_result(wire.get<6>());
    if (!result) {
        return make_error(ErrorCode::kParse, "a change record with the unknown result '" +
                                                 wire.get<6>() + "' for " + wire.get<0>());
    }
    return ChangeRecord{.key = wire.get<0>(),
                        .old_value = wire.get<1>(),
                        .new_value = wire.get<2>(),
                        .profile = wire.get<3>(),
                        .rule = wire.get<4>(),
                        .reason = wire.get<5>(),
                        .result = *result,
                        .detail = wire.get<7>(),
                        .replay_command = wire.get<8>(),
                        .at = from_unix_usec(wire.get<9>())};
}

ChangeStruct to_wire(const ChangeRecord& record) {
    return ChangeStruct{record.key,
                        record.old_value,
                        record.new_value,
                        record.profile,
                        record.rule,
                        record.reason,
                        std::string(to_string(record.result)),
                        record.detail,
                        record.replay_command,
                        to_unix_usec(record.at)};
}

std::unique_ptr<sdbus::IConnection> open_bus(BusKind bus) {
    switch (bus) {
        case BusKind::kSystem:
            return sdbus::createSystemBusConnection();
        case BusKind::kSession:
            return sdbus::createSessionBusConnection();
        case BusKind::kNone:
            break;
    }
    throw sdbus::Error(error::kInvalidArgs, "no bus to open for --bus none");
}

}  // namespace tcptune::dbus
