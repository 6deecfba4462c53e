#include "polkit_authority.hpp"

#include <exception>
#include <map>
#include <utility>

#include <spdlog/spdlog.h>

namespace tcptune::daemon {

namespace {

constexpr const char* kPolkitService = "org.freedesktop.PolicyKit1";
constexpr const char* kPolkitObject = "/org/freedesktop/PolicyKit1/Authority";
constexpr const char* kPolkitInterface = "org.freedesktop.PolicyKit1.Authority";

// CheckAuthorization's flags: no AllowUserInteraction (1).
constexpr std::uint32_t kNoInteraction = 0;

// (sa{sv}) subject, a{ss} details; the reply is (bba{ss}) authorization result.
using Subject = sdbus::Struct<std::string, std::map<std::string, sdbus::Variant>>;
using AuthorizationResult = sdbus::Struct<bool, bool, std::map<std::string, std::string>>;

PolkitAnswer answer_from_reply(sdbus::MethodReply& reply) {
    AuthorizationResult result;
    reply >> result;
    const bool authorized = std::get<0>(result);
    const bool challenge = std::get<1>(result);
    if (authorized) {
        return {PolkitAnswer::Verdict::kAuthorized, "authorized by polkit"};
    }
    return {PolkitAnswer::Verdict::kNotAuthorized,
            challenge ? "polkit requires an administrator's authentication, which a D-Bus call "
                        "to tcptuned cannot give; an administrator can grant the action with a "
                        "polkit rule"
                      : "polkit did not authorize it"};
}

}  // namespace

PolkitAnswer::Verdict polkit_verdict_for_error(std::string_view error_name) {
    if (error_name == "org.freedesktop.DBus.Error.ServiceUnknown" ||
        error_name == "org.freedesktop.DBus.Error.NameHasNoOwner") {
        return PolkitAnswer::Verdict::kUnavailable;
    }
    return PolkitAnswer::Verdict::kFailed;
}

PolkitAuthority::PolkitAuthority(sdbus::IConnection& connection, std::chrono::milliseconds timeout,
                                 std::size_t max_pending)
    : proxy_(sdbus::createProxy(connection, kPolkitService, kPolkitObject)),
      timeout_(timeout),
      max_pending_(max_pending) {}

PolkitAuthority::~PolkitAuthority() = default;

bool PolkitAuthority::check(const std::string& bus_name, const std::string& action, Callback done) {
    if (pending_ >= max_pending_) {
        return false;
    }
    try {
        auto call = proxy_->createMethodCall(kPolkitInterface, "CheckAuthorization");
        const Subject subject{"system-bus-name", {{"name", sdbus::Variant(bus_name)}}};
        call << subject << action << std::map<std::string, std::string>{} << kNoInteraction
             << std::string();  // no cancellation id
        // The handler runs from the connection's processing, on the loop
        // thread; a destroyed proxy cancels it.
        proxy_->callMethod(
            call,
            [this, done = std::move(done)](sdbus::MethodReply& reply, const sdbus::Error* error) {
                --pending_;
                PolkitAnswer answer;
                if (error != nullptr) {
                    answer = {polkit_verdict_for_error(error->getName()),
                              error->getName() + ": " + error->getMessage()};
                } else {
                    try {
                        answer = answer_from_reply(reply);
                    } catch (const std::exception& e) {
                        answer = {PolkitAnswer::Verdict::kFailed,
                                  std::string("unreadable answer from polkit: ") + e.what()};
                    }
                }
                // Nothing may unwind through sd-bus's C code.
                try {
                    done(answer);
                } catch (const std::exception& e) {
                    spdlog::error("polkit: handling the answer failed: {}", e.what());
                }
            },
            timeout_);
    } catch (const sdbus::Error& e) {
        spdlog::warn("polkit: cannot send CheckAuthorization: {}", e.getMessage());
        return false;
    }
    ++pending_;
    return true;
}

}  // namespace tcptune::daemon
