// Manager1Adaptor's edge, called over a private dbus-daemon (no system bus, no
// root): every failure a handler meets reaches the caller as the documented
// D-Bus error, and a plain C++ exception becomes net.tcptune.Error.Internal
// while the daemon keeps serving. The controller runs on fakes.
#include "dbus_adaptor.hpp"

#include <unistd.h>

#include <fstream>
#include <functional>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <sdbus-c++/sdbus-c++.h>

#include "fakes/controller_fixture.hpp"
#include "support/private_bus.hpp"

namespace tcptune::daemon {
namespace {

constexpr const char* kProfile = R"(name: web
description: adaptor test profile
sysctls:
  net.ipv4.tcp_fin_timeout: 30
)";

constexpr const char* kBrokenProfile = R"(name: broken
sysctls:
  net.ipv4.tcp_tw_recycle: 1
)";

class AdaptorTest : public test::ControllerFixture {
  protected:
    AdaptorTest() {
        write_profile("web", kProfile);
        write_profile("broken", kBrokenProfile);
    }

    // Starts the bus, the controller and the adaptor (on its own sd-bus thread).
    void serve(AdaptorHooks hooks) {
        auto bus = test::PrivateBus::start(test::BusPolicy::kAllowAll);
        if (!bus) {
            GTEST_SKIP() << "no private dbus-daemon: " << bus.error().message;
        }
        bus_ = std::move(*bus);
        server_ = sdbus::createSessionBusConnectionWithAddress(bus_->address());
        server_->requestName(dbus::kServiceName);
        start_controller(config());
        adaptor_ = std::make_unique<Manager1Adaptor>(*server_, *controller_, std::move(hooks));
        server_->enterEventLoopAsync();
        client_ = sdbus::createSessionBusConnectionWithAddress(bus_->address());
        proxy_ = sdbus::createProxy(*client_, dbus::kServiceName, dbus::kObjectPath);
    }

    void TearDown() override {
        if (server_) {
            server_->leaveEventLoop();
        }
        proxy_.reset();
        adaptor_.reset();
    }

    AdaptorHooks root_is_me() const {
        AdaptorHooks hooks;
        hooks.privileged_uid = ::getuid();
        return hooks;
    }

    // Calls `method` with `args...`; the D-Bus error name, or "" when it succeeded.
    template <typename... Args>
    std::string error_of(const std::string& method, const Args&... args) {
        try {
            auto call = proxy_->createMethodCall(dbus::kInterfaceName, method);
            ((call << args), ...);
            proxy_->callMethod(call);
            return "";
        } catch (const sdbus::Error& e) {
            last_message_ = e.getMessage();
            return e.getName();
        }
    }

    std::string active_profile() {
        std::string name;
        proxy_->callMethod("GetStatus").onInterface(dbus::kInterfaceName).storeResultsTo(name);
        return name;
    }

    std::unique_ptr<test::PrivateBus> bus_;
    std::unique_ptr<sdbus::IConnection> server_;
    std::unique_ptr<Manager1Adaptor> adaptor_;
    std::unique_ptr<sdbus::IConnection> client_;
    std::unique_ptr<sdbus::IProxy> proxy_;
    std::string last_message_;
};

TEST_F(AdaptorTest, CoreErrorsReachTheCallerUnderTheirDocumentedNames) {
    serve(root_is_me());
    if (IsSkipped()) {
        return;
    }
    // One exit-code table (#16): a profile that does not exist is NotFound (exit 1
    // in the CLI, as for `tcptune profile show`), one that does not load is
    // InvalidProfile (exit 6).
    EXPECT_EQ(error_of("SetProfile", std::string("no-such-profile"), false), dbus::error::kNotFound)
        << last_message_;
    EXPECT_NE(last_message_.find("not found"), std::string::npos) << last_message_;
    EXPECT_EQ(error_of("SetProfile", std::string("broken"), false), dbus::error::kInvalidProfile)
        << last_message_;
    EXPECT_NE(last_message_.find("tcp_tw_recycle"), std::string::npos) << last_message_;
    EXPECT_EQ(error_of("Resume", std::string("net.ipv4.tcp_keepalive_time")),
              dbus::error::kNotFound)
        << last_message_;
    EXPECT_EQ(error_of("ShowProfile", std::string("/etc/passwd")), dbus::error::kInvalidArgs);
    EXPECT_EQ(error_of("GetTop", std::string("no_such_state"), std::string("port"), 5u),
              dbus::error::kInvalidArgs);
    EXPECT_EQ(error_of("GetTop", std::string("time_wait"), std::string("colour"), 5u),
              dbus::error::kInvalidArgs);
    // watch: host: no other namespace has a status or a journal.
    EXPECT_EQ(error_of("GetNamespaceStatus", std::string("edge")), dbus::error::kNotFound);
    EXPECT_NE(last_message_.find("namespaces.watch: all"), std::string::npos) << last_message_;
    EXPECT_EQ(error_of("RollbackNamespace", std::string("all"), false), dbus::error::kNotFound);
    // watch: host: nothing is refused; the list is empty, not an error.
    std::vector<sdbus::Struct<std::uint64_t, std::string, std::string, std::string>> refused;
    proxy_->callMethod("ListRefusedNamespaces")
        .onInterface(dbus::kInterfaceName)
        .storeResultsTo(refused);
    EXPECT_TRUE(refused.empty());
    // One namespace by name, inode or pid: not all, not a path, not a huge limit.
    for (const char* netns : {"all", "/etc/shadow", ""}) {
        EXPECT_EQ(error_of("GetNamespaceTop", std::string(netns), std::string("time_wait"),
                           std::string("port"), 5u),
                  dbus::error::kInvalidArgs)
            << netns;
    }
    EXPECT_EQ(error_of("GetNamespaceTop", std::string("host"), std::string("time_wait"),
                       std::string("port"), 1001u),
              dbus::error::kInvalidArgs);
    EXPECT_EQ(active_profile(), "web") << "failed calls change nothing";
    EXPECT_EQ(error_of("SetProfile", std::string("web"), true), "") << last_message_;
}

TEST_F(AdaptorTest, MutatingCallsFromAnotherUidAreAccessDenied) {
    AdaptorHooks hooks;
    hooks.privileged_uid = ::getuid() + 1;
    serve(std::move(hooks));
    if (IsSkipped()) {
        return;
    }
    EXPECT_EQ(error_of("SetProfile", std::string("web"), false), dbus::error::kAccessDenied);
    EXPECT_NE(last_message_.find("SetProfile requires root"), std::string::npos) << last_message_;
    EXPECT_EQ(error_of("Rollback", false), dbus::error::kAccessDenied);
    EXPECT_EQ(error_of("RollbackNamespace", std::string("all"), false), dbus::error::kAccessDenied);
    EXPECT_EQ(error_of("Reload"), dbus::error::kAccessDenied);
    EXPECT_EQ(error_of("Resume", std::string("net.ipv4.tcp_fin_timeout")),
              dbus::error::kAccessDenied);
    EXPECT_EQ(error_of("GetTop", std::string("close_wait"), std::string("process"), 5u),
              dbus::error::kAccessDenied);
    EXPECT_EQ(error_of("GetNamespaceTop", std::string("host"), std::string("close_wait"),
                       std::string("process"), 5u),
              dbus::error::kAccessDenied);
    EXPECT_EQ(error_of("GetStatus"), "") << "reading stays open to everyone";
}

TEST_F(AdaptorTest, APlainExceptionIsAnInternalErrorAndTheDaemonKeepsServing) {
    AdaptorHooks hooks = root_is_me();
    hooks.fault_method = "GetRules";
    serve(std::move(hooks));
    if (IsSkipped()) {
        return;
    }
    EXPECT_EQ(error_of("GetRules"), dbus::error::kInternal);
    EXPECT_EQ(last_message_, "GetRules: internal error: injected fault (TCPTUNE_DBUS_FAULT)");
    EXPECT_EQ(error_of("GetRules"), dbus::error::kInternal) << "and again: nothing was torn down";
    EXPECT_EQ(active_profile(), "web");
}

TEST_F(AdaptorTest, AFailingReloadHookIsReportedAndTheProfileStays) {
    AdaptorHooks hooks = root_is_me();
    hooks.reload = [] {
        return Result<void>(make_error(ErrorCode::kParse, "tcptune.yaml:1:1: bad"));
    };
    serve(std::move(hooks));
    if (IsSkipped()) {
        return;
    }
    EXPECT_EQ(error_of("Reload"), dbus::error::kFailed);
    EXPECT_EQ(last_message_, "tcptune.yaml:1:1: bad");
    EXPECT_EQ(active_profile(), "web");
}

}  // namespace
}  // namespace tcptune::daemon
