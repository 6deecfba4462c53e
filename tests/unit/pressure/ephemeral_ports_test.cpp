#include "tcptune/pressure/ephemeral_ports.hpp"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "fakes/applier_fakes.hpp"

namespace tcptune {
namespace {

TEST(PortList, ParsesAndFormatsTheKernelsForm) {
    auto ports = parse_port_list("1,2-4,10-10\n");
    ASSERT_TRUE(ports) << ports.error().message;
    EXPECT_EQ(ports->size(), 5U);
    EXPECT_TRUE(ports->contains(3));
    EXPECT_FALSE(ports->contains(5));
    EXPECT_EQ(format_port_list(*ports), "1-4,10");
    EXPECT_TRUE(parse_port_list("")->empty());
    EXPECT_EQ(format_port_list(PortSet{}), "");
}

TEST(PortList, RejectsWhatTheKernelWouldNotTake) {
    EXPECT_FALSE(parse_port_list("8080,x"));
    EXPECT_FALSE(parse_port_list("9000-8000"));
    EXPECT_FALSE(parse_port_list("70000"));
}

TEST(EphemeralPorts, UsableIsTheRangeMinusReservedPorts) {
    EphemeralPorts p;
    p.low = 40000;
    p.high = 40499;
    EXPECT_EQ(p.usable(), 500U);
    p.reserved.insert(40010);
    p.reserved.insert(8080);  // outside the range: does not count
    EXPECT_EQ(p.usable(), 499U);
    EXPECT_FALSE(p.is_ephemeral(40010));
    EXPECT_TRUE(p.is_ephemeral(40011));
    EXPECT_FALSE(p.is_ephemeral(39999));
}

TEST(EphemeralPorts, ReadsBothSysctls) {
    test::FakeProcSys sys;
    sys.set("net.ipv4.ip_local_port_range", "32768\t60999\n");
    sys.set("net.ipv4.ip_local_reserved_ports", "33000-33009\n");
    auto p = read_ephemeral_ports(sys.root());
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_EQ(p->low, 32768);
    EXPECT_EQ(p->high, 60999);
    EXPECT_EQ(p->usable(), 28232U - 10U);
}

}  // namespace
}  // namespace tcptune
