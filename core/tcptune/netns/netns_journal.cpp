#include "tcptune/netns/netns_journal.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <system_error>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tcptune/apply/journal.hpp"
#include "tcptune/read_file.hpp"

namespace tcptune {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr int kIdentityFormatVersion = 1;

Result<std::uint64_t> parse_inode_name(const std::string& name) {
    if (name.empty() || name.size() > 20 ||
        name.find_first_not_of("0123456789") != std::string::npos) {
        return make_error(ErrorCode::kParse, "not an inode number: " + name);
    }
    try {
        return std::stoull(name);
    } catch (const std::exception&) {
        return make_error(ErrorCode::kParse, "not an inode number: " + name);
    }
}

}  // namespace

bool same_namespace(const NetnsIdentity& stored, const NetnsIdentity& live) {
    return stored.inode == live.inode && stored.device == live.device &&
           stored.cookie == live.cookie && stored.boot_id == live.boot_id;
}

std::string serialize_netns_identity(const NetnsIdentity& identity) {
    const json doc = {{"format_version", kIdentityFormatVersion},
                      {"inode", identity.inode},
                      {"device", identity.device},
                      {"cookie", identity.cookie},
                      {"boot_id", identity.boot_id},
                      {"name", identity.name}};
    return doc.dump(2) + "\n";
}

Result<NetnsIdentity> parse_netns_identity(std::string_view text) {
    const json doc = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded() || !doc.is_object()) {
        return make_error(ErrorCode::kCorruptJournal, "namespace identity is not a JSON object");
    }
    // A field of the expected JSON type, converted; kCorruptJournal otherwise.
    auto field = [&]<typename T>(const char* name, bool (json::*is_type)() const noexcept,
                                 const char* what) -> Result<T> {
        auto it = doc.find(name);
        if (it == doc.end() || !((*it).*is_type)()) {
            return make_error(
                ErrorCode::kCorruptJournal,
                fmt::format("namespace identity: \"{}\" missing or not {}", name, what));
        }
        return it->template get<T>();
    };
    auto number = [&](const char* name) {
        return field.template operator()<std::uint64_t>(name, &json::is_number_unsigned,
                                                        "a number");
    };
    auto text_field = [&](const char* name) {
        return field.template operator()<std::string>(name, &json::is_string, "a string");
    };
    std::uint64_t version = 0;
    TRY_ASSIGN(version, number("format_version"));
    if (version != static_cast<std::uint64_t>(kIdentityFormatVersion)) {
        return make_error(ErrorCode::kCorruptJournal,
                          fmt::format("namespace identity: format_version {} is not {}", version,
                                      kIdentityFormatVersion));
    }
    NetnsIdentity out;
    TRY_ASSIGN(out.inode, number("inode"));
    TRY_ASSIGN(out.device, number("device"));
    TRY_ASSIGN(out.cookie, number("cookie"));
    TRY_ASSIGN(out.boot_id, text_field("boot_id"));
    TRY_ASSIGN(out.name, text_field("name"));
    return out;
}

fs::path netns_journal_dir(const fs::path& state_dir, std::uint64_t inode) {
    return state_dir / "netns" / std::to_string(inode);
}

fs::path closed_netns_journals_dir(const fs::path& state_dir) {
    return state_dir / "netns-closed";
}

Result<void> write_netns_identity(const fs::path& dir, const NetnsIdentity& identity) {
    return replace_file_atomically(dir, dir / std::string(kNetnsIdentityFileName),
                                   serialize_netns_identity(identity));
}

Result<NetnsIdentity> read_netns_identity(const fs::path& dir) {
    std::string text;
    TRY_ASSIGN(text, read_file_bounded(dir / std::string(kNetnsIdentityFileName),
                                       {.max_bytes = 4096, .no_follow = true}));
    return parse_netns_identity(text);
}

std::string current_boot_id() {
    auto text = read_file_bounded("/proc/sys/kernel/random/boot_id", {.max_bytes = 128});
    if (!text) {
        return "";
    }
    std::string id = *text;
    while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) {
        id.pop_back();
    }
    return id;
}

std::vector<StoredNetnsJournal> list_netns_journals(const fs::path& state_dir, std::size_t max) {
    std::vector<StoredNetnsJournal> out;
    std::error_code ec;
    fs::directory_iterator it(state_dir / "netns", ec);
    for (; !ec && it != fs::directory_iterator() && out.size() < max; it.increment(ec)) {
        if (!it->is_directory(ec) || it->is_symlink(ec)) {
            continue;
        }
        auto inode = parse_inode_name(it->path().filename().string());
        if (!inode) {
            continue;  // not ours (an operator's note, a stray file)
        }
        out.push_back({it->path(), *inode, read_netns_identity(it->path())});
    }
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return a.inode < b.inode; });
    return out;
}

Result<fs::path> close_netns_journal(const fs::path& state_dir, const fs::path& dir,
                                     std::chrono::system_clock::time_point now) {
    const fs::path closed = closed_netns_journals_dir(state_dir);
    std::error_code ec;
    fs::create_directories(closed, ec);
    if (ec) {
        return make_error(ErrorCode::kIo,
                          fmt::format("cannot create {}: {}", closed.string(), ec.message()));
    }
    std::string stamp = format_utc(now);
    const std::string base = dir.filename().string() + "-" + stamp;
    fs::path target = closed / base;
    for (int n = 1; fs::exists(target, ec) && n < 1000; ++n) {
        target = closed / fmt::format("{}.{}", base, n);
    }
    if (std::rename(dir.c_str(), target.c_str()) != 0) {
        const int err = errno;
        return make_error(ErrorCode::kIo, fmt::format("cannot move {} to {}: {}", dir.string(),
                                                      target.string(), errno_text(err)));
    }
    return target;
}

}  // namespace tcptune
