// tcptune export: the sysctls tcptune has applied, as an /etc/sysctl.d/ snippet,
// so an operator can make a decision permanent. Reads the journal directly: no
// daemon needed, nothing is changed.
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "command.hpp"
#include "tcptune/apply/journal.hpp"
#include "tcptune/apply/sysctl_export.hpp"
#include "tcptune/clock.hpp"
#include "tcptune/netns/netns_journal.hpp"

namespace tcptune::cli {

namespace {

struct ExportOptions {
    std::string state_dir = "/var/lib/tcptune";
    bool json = false;
    std::string netns;  // another namespace's journal (NAME or INODE)
};

// The journal directory of another namespace: <state-dir>/netns/<inode>/, found by
// its inode or by the name its identity file recorded.
Result<std::filesystem::path> namespace_journal_dir(const ExportOptions& options) {
    for (const StoredNetnsJournal& stored : list_netns_journals(options.state_dir)) {
        if (std::to_string(stored.inode) == options.netns ||
            (stored.identity && stored.identity->name == options.netns)) {
            return stored.dir;
        }
    }
    return make_error(ErrorCode::kNotFound,
                      "no journal of a network namespace named or numbered " + options.netns +
                          " in " + (std::filesystem::path(options.state_dir) / "netns").string());
}

nlohmann::json to_json(const Journal& journal) {
    nlohmann::json sysctls = nlohmann::json::array();
    for (const auto& [key, e] : journal.entries()) {
        // The journal's own fields, with the value tcptune set named "value".
        nlohmann::json j = journal_entry_to_json(e);
        j["key"] = key;
        j["value"] = e.last_written;
        j.erase("last_written");
        sysctls.push_back(std::move(j));
    }
    return nlohmann::json{{"journal", journal.path().string()}, {"sysctls", std::move(sysctls)}};
}

int run_export(const ExportOptions& options) {
    std::filesystem::path dir = options.state_dir;
    if (!options.netns.empty()) {
        auto found = namespace_journal_dir(options);
        if (!found) {
            std::cerr << "tcptune export: " << found.error().message << "\n";
            return kExitFailure;
        }
        dir = *found;
    }
    auto journal = Journal::open(dir);
    if (!journal) {
        std::cerr << "tcptune export: " << journal.error().message << "\n";
        return journal.error().code == ErrorCode::kPermissionDenied ? kExitPermissionDenied
                                                                    : kExitFailure;
    }
    return print_json_or_text(
        options.json, [&] { return to_json(*journal); },
        [&] { return render_sysctl_snippet(journal->entries(), SystemClock().wall_now()); });
}

}  // namespace

void register_export_command(CLI::App& app, CommandContext& ctx) {
    auto [cmd, options] = add_json_command<ExportOptions>(app, ctx, verb_help::kExport, run_export);
    cmd->add_option("--state-dir", options->state_dir,
                    "Directory holding journal.json (default /var/lib/tcptune)");
    cmd->add_option("--netns", options->netns,
                    "Export another network namespace's journal (its name or inode), from "
                    "<state-dir>/netns/<inode>/");
}

}  // namespace tcptune::cli
