#include "tcptune/dbus/contract.hpp"

#include <regex>
#include <set>
#include <string>

#include <gtest/gtest.h>

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
    const std::pair<ErrorCode, const char*> expected[] = {
        {ErrorCode::kIo, error::kFailed},
        {ErrorCode::kNetlink, error::kFailed},
        {ErrorCode::kParse, error::kFailed},
        {ErrorCode::kInvalidProfile, error::kInvalidProfile},
        {ErrorCode::kNotFound, error::kNotFound},
        {ErrorCode::kRefused, error::kRefused},
        {ErrorCode::kPermissionDenied, error::kAccessDenied},
        {ErrorCode::kCorruptJournal, error::kCorruptJournal},
        {ErrorCode::kInternal, error::kInternal},
    };
    for (const auto& [code, name] : expected) {
        EXPECT_STREQ(error_name(code), name);
        EXPECT_NE(docs.find(std::string("`") + name + "`"), std::string::npos)
            << name << " is not in docs/dbus-api.md";
    }
    EXPECT_NE(docs.find(std::string("`") + error::kInvalidArgs + "`"), std::string::npos);
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
    ChangeRecord record;
    record.key = "net.ipv4.tcp_fin_timeout";
    record.old_value = "60";
    record.new_value = "30";
    record.profile = "web";
    record.rule = "r";
    record.reason = "why";
    record.result = ChangeResult::kRefused;
    record.detail = "cooldown";
    record.replay_command = "sysctl -w net.ipv4.tcp_fin_timeout=30";
    record.at =
        std::chrono::system_clock::time_point(std::chrono::microseconds(1'714'564'800'000'001));
    const ChangeStruct wire = to_wire(record);
    EXPECT_EQ(wire.get<0>(), "net.ipv4.tcp_fin_timeout");
    EXPECT_EQ(wire.get<1>(), "60");
    EXPECT_EQ(wire.get<2>(), "30");
    EXPECT_EQ(wire.get<3>(), "web");
    EXPECT_EQ(wire.get<4>(), "r");
    EXPECT_EQ(wire.get<5>(), "why");
    EXPECT_EQ(wire.get<6>(), "refused");
    EXPECT_EQ(wire.get<7>(), "cooldown");
    EXPECT_EQ(wire.get<8>(), "sysctl -w net.ipv4.tcp_fin_timeout=30");
    EXPECT_EQ(wire.get<9>(), 1'714'564'800'000'001);
}

TEST(DbusContract, EveryResultSurvivesTheWireAndAnUnknownOneIsAnError) {
    ChangeRecord record;
    record.key = "net.ipv4.tcp_tw_reuse";
    record.old_value = "2";
    record.new_value = "1";
    record.replay_command = "sysctl -w net.ipv4.tcp_tw_reuse=1";
    record.at = from_unix_usec(1'714'564'800'123'456);
    for (const ChangeResult result : kAllChangeResults) {
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
