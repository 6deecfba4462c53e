// The identity of a namespace journal and its closing: a recycled inode (another
// cookie or boot) is never taken for the namespace the journal was written for, and
// a closed journal is moved aside whole, never deleted.
#include "tcptune/netns/netns_journal.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "fakes/applier_fakes.hpp"
#include "support/files.hpp"

namespace tcptune::test {
namespace {

namespace fs = std::filesystem;

NetnsIdentity sample() {
    return NetnsIdentity{
        .inode = 4026532246, .device = 4, .cookie = 17, .boot_id = "1f0e-boot", .name = "edge"};
}

TEST(NetnsJournal, IdentityRoundTrips) {
    const NetnsIdentity id = sample();
    auto parsed = parse_netns_identity(serialize_netns_identity(id));
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_EQ(*parsed, id);
}

TEST(NetnsJournal, ARecycledInodeIsAnotherNamespace) {
    const NetnsIdentity stored = sample();
    NetnsIdentity live = stored;
    EXPECT_TRUE(same_namespace(stored, live));
    live.name = "renamed";  // an ip netns name is only a mount: not part of the identity
    EXPECT_TRUE(same_namespace(stored, live));
    live = stored;
    live.cookie = 18;  // same inode, freed and reused
    EXPECT_FALSE(same_namespace(stored, live));
    live = stored;
    live.boot_id = "other-boot";  // the cookie counter restarts at boot
    EXPECT_FALSE(same_namespace(stored, live));
    live = stored;
    live.device = 5;
    EXPECT_FALSE(same_namespace(stored, live));
}

TEST(NetnsJournal, MalformedIdentitiesAreCorrupt) {
    for (const char* text : {"", "[]", "{\"format_version\": 1}",
                             "{\"format_version\": 2, \"inode\": 1, \"device\": 1, \"cookie\": 1, "
                             "\"boot_id\": \"b\", \"name\": \"n\"}",
                             "{\"format_version\": 1, \"inode\": \"1\", \"device\": 1, "
                             "\"cookie\": 1, \"boot_id\": \"b\", \"name\": \"n\"}"}) {
        auto parsed = parse_netns_identity(text);
        ASSERT_FALSE(parsed) << text;
        EXPECT_EQ(parsed.error().code, ErrorCode::kCorruptJournal) << text;
    }
}

TEST(NetnsJournal, ListsAndClosesJournalDirectories) {
    TempDir state;
    const NetnsIdentity id = sample();
    const fs::path dir = netns_journal_dir(state.path(), id.inode);
    EXPECT_EQ(dir, state.path() / "netns" / "4026532246");
    ASSERT_TRUE(write_netns_identity(dir, id));
    ASSERT_TRUE(write_text(dir / "journal.json", "{}"));
    // Not a namespace journal: ignored, never closed.
    fs::create_directories(state.path() / "netns" / "notes");
    fs::create_directories(netns_journal_dir(state.path(), 7));  // no identity

    auto listed = list_netns_journals(state.path());
    ASSERT_EQ(listed.size(), 2U);
    EXPECT_EQ(listed[0].inode, 7U);
    EXPECT_FALSE(listed[0].identity);
    EXPECT_EQ(listed[1].inode, id.inode);
    ASSERT_TRUE(listed[1].identity);
    EXPECT_EQ(*listed[1].identity, id);

    const auto when = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000));
    auto closed = close_netns_journal(state.path(), dir, when);
    ASSERT_TRUE(closed) << closed.error().message;
    EXPECT_FALSE(fs::exists(dir));
    EXPECT_EQ(closed->parent_path(), closed_netns_journals_dir(state.path()));
    EXPECT_EQ(closed->filename().string(), "4026532246-2023-11-14T22:13:20Z");
    EXPECT_TRUE(fs::exists(*closed / "journal.json"));
    // Closing again at the same second never overwrites the first closed copy.
    ASSERT_TRUE(write_netns_identity(dir, id));
    auto again = close_netns_journal(state.path(), dir, when);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->filename().string(), "4026532246-2023-11-14T22:13:20Z.1");
    EXPECT_TRUE(fs::exists(*closed / "journal.json"));
}

}  // namespace
}  // namespace tcptune::test
