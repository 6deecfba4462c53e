#include "tcptune/census/netlink_diag_parser.hpp"

#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <sstream>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tcptune {
namespace {

constexpr std::uint32_t kSeq = 42;

// Builds netlink messages the way the kernel lays them out: 4-byte aligned, padded.
class DumpBuilder {
  public:
    DumpBuilder& message(std::uint16_t type, std::uint16_t flags, std::uint32_t seq,
                         const std::vector<std::byte>& payload) {
        nlmsghdr hdr{};
        hdr.nlmsg_len = static_cast<std::uint32_t>(sizeof(nlmsghdr) + payload.size());
        hdr.nlmsg_type = type;
        hdr.nlmsg_flags = flags;
        hdr.nlmsg_seq = seq;
        append(&hdr, sizeof(hdr));
        bytes_.insert(bytes_.end(), payload.begin(), payload.end());
        while (bytes_.size() % 4 != 0) {
            bytes_.push_back(std::byte{0});
        }
        return *this;
    }
    DumpBuilder& socket(std::uint8_t state, std::uint16_t sport = 1000, std::uint32_t seq = kSeq,
                        std::uint16_t flags = NLM_F_MULTI) {
        inet_diag_msg msg{};
        msg.idiag_family = AF_INET;
        msg.idiag_state = state;
        msg.id.idiag_sport = htons(sport);
        std::vector<std::byte> payload(sizeof(msg));
        std::memcpy(payload.data(), &msg, sizeof(msg));
        return message(SOCK_DIAG_BY_FAMILY, flags, seq, payload);
    }
    DumpBuilder& done(std::int32_t status = 0, std::uint32_t seq = kSeq) {
        return message(NLMSG_DONE, NLM_F_MULTI, seq, int_payload(status));
    }
    DumpBuilder& error(std::int32_t negative_errno, std::uint32_t seq = kSeq) {
        std::vector<std::byte> payload(sizeof(nlmsgerr));
        nlmsgerr err{};
        err.error = negative_errno;
        std::memcpy(payload.data(), &err, sizeof(err));
        return message(NLMSG_ERROR, 0, seq, payload);
    }
    // Overwrites the first message's nlmsg_len (a malformed dump).
    DumpBuilder& first_length(std::uint32_t len) {
        nlmsghdr hdr{};
        std::memcpy(&hdr, bytes_.data(), sizeof(hdr));
        hdr.nlmsg_len = len;
        std::memcpy(bytes_.data(), &hdr, sizeof(hdr));
        return *this;
    }
    std::vector<std::byte>& bytes() { return bytes_; }

  private:
    static std::vector<std::byte> int_payload(std::int32_t v) {
        std::vector<std::byte> p(sizeof(v));
        std::memcpy(p.data(), &v, sizeof(v));
        return p;
    }
    void append(const void* p, std::size_t n) {
        const auto* b = static_cast<const std::byte*>(p);
        bytes_.insert(bytes_.end(), b, b + n);
    }
    std::vector<std::byte> bytes_;
};

Result<DumpProgress> parse(const std::vector<std::byte>& bytes, DumpTally& tally) {
    return parse_inet_diag_datagram(bytes, kSeq, tally, NoSocketVisitor{});
}

using ::testing::HasSubstr;
using ::testing::Optional;

// Why parsing `bytes` as one datagram fails; nullopt when it does not.
std::optional<std::string> parse_error(const std::vector<std::byte>& bytes) {
    DumpTally tally;
    auto progress = parse(bytes, tally);
    return progress ? std::nullopt : std::optional(progress.error().message);
}

// Why parsing `bytes` as a whole dump fails; nullopt when it does not.
std::optional<std::string> dump_error(const std::vector<std::byte>& bytes) {
    auto tally = parse_inet_diag_dump(bytes, kSeq);
    return tally ? std::nullopt : std::optional(tally.error().message);
}

TEST(NetlinkDiagParser, CountsEveryStateAndFoldsNewSynRecvIntoSynRecv) {
    DumpBuilder b;
    for (std::uint8_t state = 1; state <= 11; ++state) {
        for (std::uint8_t i = 0; i < state; ++i) {  // state k appears k times
            b.socket(state);
        }
    }
    b.socket(12).socket(12);  // TCP_NEW_SYN_RECV request sockets
    DumpTally tally;
    auto progress = parse(b.bytes(), tally);
    ASSERT_TRUE(progress) << progress.error().message;
    EXPECT_EQ(*progress, DumpProgress::kMore);
    EXPECT_EQ(tally.counts[TcpState::kEstablished], 1U);
    EXPECT_EQ(tally.counts[TcpState::kSynRecv], 3U + 2U);
    EXPECT_EQ(tally.counts[TcpState::kTimeWait], 6U);
    EXPECT_EQ(tally.counts[TcpState::kListen], 10U);
    EXPECT_EQ(tally.counts[TcpState::kClosing], 11U);
    EXPECT_EQ(tally.sockets, 66U + 2U);
    EXPECT_FALSE(tally.interrupted);
}

TEST(NetlinkDiagParser, AccumulatesAcrossDatagramsUntilDone) {
    DumpTally tally;
    DumpBuilder first;
    first.socket(6).socket(6);
    ASSERT_EQ(parse(first.bytes(), tally).value(), DumpProgress::kMore);
    DumpBuilder second;
    second.socket(8).done();
    ASSERT_EQ(parse(second.bytes(), tally).value(), DumpProgress::kDone);
    EXPECT_EQ(tally.counts[TcpState::kTimeWait], 2U);
    EXPECT_EQ(tally.counts[TcpState::kCloseWait], 1U);
}

TEST(NetlinkDiagParser, EmptyDumpIsJustDone) {
    DumpBuilder b;
    b.done();
    auto tally = parse_inet_diag_dump(b.bytes(), kSeq);
    ASSERT_TRUE(tally) << tally.error().message;
    EXPECT_EQ(tally->counts.total(), 0U);
}

TEST(NetlinkDiagParser, IgnoresRepliesToOtherRequests) {
    DumpBuilder b;
    b.socket(1, 1000, kSeq - 1).socket(1).done(0, kSeq - 1).socket(10).done();
    auto tally = parse_inet_diag_dump(b.bytes(), kSeq);
    ASSERT_TRUE(tally) << tally.error().message;
    EXPECT_EQ(tally->counts[TcpState::kEstablished], 1U);
    EXPECT_EQ(tally->counts[TcpState::kListen], 1U);
}

TEST(NetlinkDiagParser, FlagsInterruptedDumps) {
    DumpBuilder b;
    b.socket(1).socket(6, 1000, kSeq, NLM_F_MULTI | NLM_F_DUMP_INTR).done();
    auto tally = parse_inet_diag_dump(b.bytes(), kSeq);
    ASSERT_TRUE(tally);
    EXPECT_TRUE(tally->interrupted);
}

TEST(NetlinkDiagParser, NetlinkErrorCarriesErrno) {
    DumpBuilder b;
    b.error(-EPERM);
    DumpTally tally;
    auto progress = parse(b.bytes(), tally);
    ASSERT_FALSE(progress);
    EXPECT_EQ(progress.error().code, ErrorCode::kNetlink);
    EXPECT_NE(progress.error().message.find("errno 1"), std::string::npos)
        << progress.error().message;
}

TEST(NetlinkDiagParser, AcknowledgementIsNotAnError) {
    DumpBuilder b;
    b.error(0).socket(1).done();
    auto tally = parse_inet_diag_dump(b.bytes(), kSeq);
    ASSERT_TRUE(tally) << tally.error().message;
    EXPECT_EQ(tally->sockets, 1U);
}

TEST(NetlinkDiagParser, DoneWithNegativeStatusIsAnError) {
    DumpBuilder b;
    b.socket(1).done(-ENOBUFS);
    EXPECT_THAT(dump_error(b.bytes()), Optional(HasSubstr("errno " + std::to_string(ENOBUFS))));
}

TEST(NetlinkDiagParser, ShortHeaderIsAnError) {
    DumpBuilder b;
    b.socket(1);
    b.bytes().resize(b.bytes().size() + 8);  // 8 stray bytes: less than a header
    EXPECT_THAT(parse_error(b.bytes()), Optional(HasSubstr("short netlink header")));
}

TEST(NetlinkDiagParser, LengthPastTheBufferIsAnError) {
    DumpBuilder b;
    b.socket(1).first_length(sizeof(nlmsghdr) + sizeof(inet_diag_msg) + 64);  // 64 past the end
    EXPECT_THAT(parse_error(b.bytes()), Optional(HasSubstr("bad nlmsg_len")));
}

TEST(NetlinkDiagParser, LengthSmallerThanHeaderIsAnErrorNotALoop) {
    for (std::uint32_t len : {0U, 1U, 15U}) {
        DumpBuilder b;
        b.socket(1).first_length(len);
        EXPECT_TRUE(parse_error(b.bytes())) << "nlmsg_len " << len;
    }
}

TEST(NetlinkDiagParser, TruncatedInetDiagMsgIsAnError) {
    DumpBuilder b;
    std::vector<std::byte> half(sizeof(inet_diag_msg) / 2);
    b.message(SOCK_DIAG_BY_FAMILY, NLM_F_MULTI, kSeq, half);
    EXPECT_THAT(parse_error(b.bytes()), Optional(HasSubstr("truncated inet_diag_msg")));
}

TEST(NetlinkDiagParser, UnknownStatesAreErrors) {
    for (std::uint8_t state : {std::uint8_t{0}, std::uint8_t{13}, std::uint8_t{255}}) {
        DumpBuilder b;
        b.socket(state).done();
        EXPECT_THAT(dump_error(b.bytes()),
                    Optional(HasSubstr("unknown TCP state " + std::to_string(state))));
    }
}

TEST(NetlinkDiagParser, UnexpectedMessageTypeIsAnError) {
    DumpBuilder b;
    b.message(std::uint16_t{16}, 0, kSeq, {});
    DumpTally tally;
    EXPECT_FALSE(parse(b.bytes(), tally));
}

TEST(NetlinkDiagParser, DumpWithoutDoneIsReportedAsIncomplete) {
    DumpBuilder b;
    b.socket(1);
    EXPECT_THAT(dump_error(b.bytes()), Optional(HasSubstr("without NLMSG_DONE")));
}

TEST(NetlinkDiagParser, LastMessageWithoutPaddingIsAccepted) {
    DumpBuilder b;
    b.socket(1);
    // A 3-byte payload leaves the final message unaligned; drop its padding.
    b.message(NLMSG_NOOP, 0, kSeq, std::vector<std::byte>(3));
    b.bytes().pop_back();
    DumpTally tally;
    auto progress = parse(b.bytes(), tally);
    ASSERT_TRUE(progress) << progress.error().message;
    EXPECT_EQ(tally.sockets, 1U);
}

TEST(NetlinkDiagParser, VisitorSeesEveryMessageWithItsState) {
    DumpBuilder b;
    b.socket(1, 80).socket(12, 443).socket(10, 22).done();
    struct Recorder {
        std::vector<std::pair<std::uint16_t, TcpState>> seen;
        void operator()(const inet_diag_msg& msg, TcpState state) {
            seen.emplace_back(ntohs(msg.id.idiag_sport), state);
        }
    } recorder;
    DumpTally tally;
    ASSERT_EQ(parse_inet_diag_datagram(b.bytes(), kSeq, tally, recorder).value(),
              DumpProgress::kDone);
    const std::vector<std::pair<std::uint16_t, TcpState>> expected = {
        {80, TcpState::kEstablished}, {443, TcpState::kSynRecv}, {22, TcpState::kListen}};
    EXPECT_EQ(recorder.seen, expected);
}

// Real dumps recorded from a populated network namespace by
// tests/data/netlink/capture.sh; the .expected file holds what `ss -tan` counted then.
std::vector<std::byte> read_bytes(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::byte> bytes(chars.size());
    std::memcpy(bytes.data(), chars.data(), chars.size());
    return bytes;
}

TEST(NetlinkDiagParser, CapturedDumpMatchesWhatSsCounted) {
    const std::filesystem::path dir = std::filesystem::path(TCPTUNE_TEST_DATA_DIR) / "netlink";
    std::ifstream expected_file(dir / "populated.expected");
    ASSERT_TRUE(expected_file) << "missing " << (dir / "populated.expected");
    std::map<std::string, std::uint64_t> expected;
    std::uint32_t seq_inet = 0;
    std::uint32_t seq_inet6 = 0;
    std::string key;
    std::uint64_t value = 0;
    while (expected_file >> key >> value) {
        if (key == "seq_inet") {
            seq_inet = static_cast<std::uint32_t>(value);
        } else if (key == "seq_inet6") {
            seq_inet6 = static_cast<std::uint32_t>(value);
        } else {
            expected[key] = value;
        }
    }
    auto v4 = parse_inet_diag_dump(read_bytes(dir / "populated.inet.bin"), seq_inet);
    ASSERT_TRUE(v4) << v4.error().message;
    auto v6 = parse_inet_diag_dump(read_bytes(dir / "populated.inet6.bin"), seq_inet6);
    ASSERT_TRUE(v6) << v6.error().message;
    std::uint64_t total = 0;
    for (TcpState s : kAllTcpStates) {
        const std::uint64_t got = v4->counts[s] + v6->counts[s];
        EXPECT_EQ(got, expected[std::string(state_name(s))]) << state_name(s);
        total += got;
    }
    EXPECT_GT(total, 1000U) << "the capture should span many datagrams";
}

TEST(NetlinkDiagParser, CapturedDumpCutShortIsAnErrorNotACount) {
    const std::filesystem::path dir = std::filesystem::path(TCPTUNE_TEST_DATA_DIR) / "netlink";
    auto bytes = read_bytes(dir / "populated.inet.bin");
    ASSERT_GT(bytes.size(), 1000U);
    bytes.resize(bytes.size() / 2 + 3);  // mid-message
    auto tally = parse_inet_diag_dump(bytes, 0);
    EXPECT_FALSE(tally);
}

}  // namespace
}  // namespace tcptune
