#include "tcptune/read_file.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "fakes/applier_fakes.hpp"
#include "tcptune/apply/journal.hpp"
#include "tcptune/config/daemon_config.hpp"
#include "tcptune/profile/profile_loader.hpp"

namespace tcptune {
namespace {

using test::TempDir;

void spit(const std::filesystem::path& p, const std::string& text) {
    std::ofstream out(p, std::ios::trunc | std::ios::binary);
    out << text;
}

TEST(ReadFileBounded, ReadsARegularFileWhole) {
    TempDir dir;
    spit(dir.path() / "f", "hello\n");
    auto text = read_file_bounded(dir.path() / "f");
    ASSERT_TRUE(text) << text.error().message;
    EXPECT_EQ(*text, "hello\n");
}

TEST(ReadFileBounded, AcceptsExactlyTheLimitAndRefusesOneByteMore) {
    TempDir dir;
    spit(dir.path() / "at", std::string(100, 'x'));
    spit(dir.path() / "over", std::string(101, 'x'));
    auto at = read_file_bounded(dir.path() / "at", {.max_bytes = 100});
    ASSERT_TRUE(at) << at.error().message;
    EXPECT_EQ(at->size(), 100U);
    auto over = read_file_bounded(dir.path() / "over", {.max_bytes = 100});
    ASSERT_FALSE(over);
    EXPECT_EQ(over.error().code, ErrorCode::kIo);
    EXPECT_NE(over.error().message.find("too large"), std::string::npos) << over.error().message;
}

TEST(ReadFileBounded, ProcFilesWithZeroSizeAreReadAndBounded) {
    // /proc files report st_size 0: the bound must hold on the bytes read.
    auto small = read_file_bounded("/proc/self/status");
    ASSERT_TRUE(small) << small.error().message;
    EXPECT_NE(small->find("Name:"), std::string::npos);
    auto capped = read_file_bounded("/proc/self/status", {.max_bytes = 16});
    ASSERT_FALSE(capped);
    EXPECT_NE(capped.error().message.find("more than 16 bytes"), std::string::npos)
        << capped.error().message;
}

TEST(ReadFileBounded, RefusesAFifoWithoutWaitingForAWriter) {
    TempDir dir;
    const auto fifo = dir.path() / "fifo";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    auto text = read_file_bounded(fifo);  // would block forever without O_NONBLOCK
    ASSERT_FALSE(text);
    EXPECT_NE(text.error().message.find("a FIFO"), std::string::npos) << text.error().message;
}

TEST(ReadFileBounded, RefusesCharacterDevicesAndDirectories) {
    auto zero = read_file_bounded("/dev/zero");
    ASSERT_FALSE(zero);
    EXPECT_NE(zero.error().message.find("a character device"), std::string::npos);
    TempDir dir;
    auto directory = read_file_bounded(dir.path());
    ASSERT_FALSE(directory);
    EXPECT_NE(directory.error().message.find("a directory"), std::string::npos);
}

TEST(ReadFileBounded, ClassifiesMissingFilesAndRefusesSymlinksWhenAsked) {
    TempDir dir;
    auto missing = read_file_bounded(dir.path() / "nope");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
    spit(dir.path() / "target", "x");
    std::filesystem::create_symlink(dir.path() / "target", dir.path() / "link");
    EXPECT_TRUE(read_file_bounded(dir.path() / "link"));
    auto refused = read_file_bounded(dir.path() / "link", {.no_follow = true});
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("symbolic link"), std::string::npos);
}

// Every reader of an operator-named file goes through the bounded reader.
TEST(ReadFileBounded, ProfileLoaderRefusesDevicesFifosAndHugeFiles) {
    TempDir dir;
    auto zero = load_profile_file("/dev/zero");
    ASSERT_FALSE(zero);
    EXPECT_NE(zero.error().front().message.find("character device"), std::string::npos);
    const auto fifo = dir.path() / "fifo.yaml";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    EXPECT_FALSE(load_profile_file(fifo));
    const auto huge = dir.path() / "huge.yaml";
    spit(huge, "name: huge\n" + std::string(kMaxProfileFileBytes, '#'));
    auto big = load_profile_file(huge);
    ASSERT_FALSE(big);
    EXPECT_NE(big.error().front().message.find("too large"), std::string::npos);
}

TEST(ReadFileBounded, JournalInPlaceOfAFifoIsAnErrorNotAHang) {
    TempDir dir;
    ASSERT_EQ(::mkfifo((dir.path() / "journal.json").c_str(), 0600), 0);
    auto journal = Journal::open(dir.path());
    ASSERT_FALSE(journal);
    EXPECT_NE(journal.error().message.find("a FIFO"), std::string::npos);
    EXPECT_NE(journal.error().message.find("mv "), std::string::npos) << "recovery advice";
}

TEST(ReadFileBounded, ConfigFileThatIsADeviceIsRefused) {
    DaemonOverrides flags;
    flags.config_file = "/dev/zero";
    auto options = load_daemon_options(flags);
    ASSERT_FALSE(options);
    EXPECT_NE(options.error().message.find("character device"), std::string::npos);
    // ... except /dev/null, the usual "no config file".
    flags.config_file = "/dev/null";
    EXPECT_TRUE(load_daemon_options(flags)) << "--config /dev/null";
}

}  // namespace
}  // namespace tcptune
