#include "tcptune/dbus/contract.hpp"

#include <regex>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "fakes/applier_fakes.hpp"
#include "support/files.hpp"

namespace tcptune::dbus {
namespace {

const std::filesystem::path kSource = TCPTUNE_SOURCE_DIR;

TEST(DbusContract, TheXmlDeclaresTheInterfaceTheCodeNames) {
    const std::string xml = test::read_text(kSource / "dbus" / "net.tcptune.Manager1.xml");
    ASSERT_FALSE(xml.empty());
    std::set<std::string> interfaces;
    const std::regex interface_re(R"re(<interface\s+name="([^"]+)")re");
    for (std::sregex_iterator it(xml.begin(), xml.end(), interface_re), end; it != end; ++it) {
        interfaces.insert((*it)[1].str());
    }
    EXPECT_EQ(interfaces, std::set<std::string>{kInterfaceName});
    EXPECT_EQ(std::string(kObjectPath),
              "/" + std::regex_replace(std::string(kInterfaceName), std::regex("\\."), "/"))
        << "the object path spells the interface name";
    EXPECT_EQ(std::string(kInterfaceName).rfind(std::string(kServiceName) + ".", 0), 0u);
}

TEST(DbusContract, EveryErrorClassHasADocumentedName) {
    const std::string docs = test::read_text(kSource / "docs" / "dbus-api.md");
    ASSERT_FALSE(docs.empty());
    for (int code = 0; code <= static_cast<int>(ErrorCode::kInternal); ++code) {
        const std::string name = error_name(static_cast<ErrorCode>(code));
        EXPECT_NE(docs.find("`" + name + "`"), std::string::npos)
            << name << " (ErrorCode " << code << ") is not in docs/dbus-api.md";
    }
    EXPECT_NE(docs.find(std::string("`") + error::kInvalidArgs + "`"), std::string::npos);
    // The classes a client tells apart; the rest share net.tcptune.Error.Failed.
    EXPECT_STREQ(error_name(ErrorCode::kPermissionDenied), error::kAccessDenied);
    EXPECT_STREQ(error_name(ErrorCode::kInvalidProfile), error::kInvalidProfile);
    EXPECT_STREQ(error_name(ErrorCode::kRefused), error::kRefused);
    EXPECT_STREQ(error_name(ErrorCode::kIo), error::kFailed);
    EXPECT_STREQ(error_name(ErrorCode::kNetlink), error::kFailed);
}

TEST(DbusContract, OnlyTheAbsenceOfADaemonMeansUnreachable) {
    for (const char* name :
         {"org.freedesktop.DBus.Error.ServiceUnknown", "org.freedesktop.DBus.Error.NameHasNoOwner",
          "org.freedesktop.DBus.Error.NoReply", "org.freedesktop.DBus.Error.TimedOut"}) {
        EXPECT_TRUE(means_unreachable(name)) << name;
    }
    for (const char* name : {error::kAccessDenied, error::kInvalidArgs, error::kFailed,
                             error::kInternal, error::kRefused, ""}) {
        EXPECT_FALSE(means_unreachable(name)) << name;
    }
}

TEST(DbusContract, AChangeRecordGoesOnTheWireFieldByField) {
    const ChangeRecord record = test::sample_change(ChangeResult::kRefused, "cooldown");
    const ChangeStruct wire = to_wire(record);
    EXPECT_EQ(wire,
              (ChangeStruct{"net.ipv4.tcp_tw_reuse", "2", "1", "web", "time-wait-pressure",
                            "outbound connections are starved of ports", "refused", "cooldown",
                            "sysctl -w net.ipv4.tcp_tw_reuse=1", 1'714'564'800'000'001}));
}

TEST(DbusContract, EveryResultSurvivesTheWireAndAnUnknownOneIsAnError) {
    ChangeRecord record = test::sample_change();
    for (const auto& [result, name] : kChangeResultNames) {
        record.result = result;
        const auto back = from_wire(to_wire(record));
        ASSERT_TRUE(back.has_value()) << back.error().message;
        EXPECT_EQ(*back, record) << to_string(result);
    }
    ChangeStruct wire = to_wire(record);
    wire.get<6>() = "teleported";
    const auto unknown = from_wire(wire);
    ASSERT_FALSE(unknown.has_value());
    EXPECT_EQ(unknown.error().code, ErrorCode::kParse);
    EXPECT_NE(unknown.error().message.find("teleported"), std::string::npos);
}

TEST(DbusContract, ThereIsNoBusToOpenForNone) {
    try {
        auto connection = open_bus(BusKind::kNone);
        FAIL() << "open_bus(kNone) returned a connection";
    } catch (const sdbus::Error& e) {
        EXPECT_EQ(e.getName(), error::kInvalidArgs);
    }
}

}  // namespace
}  // namespace tcptune::dbus
