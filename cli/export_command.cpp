// tcptune export: the sysctls tcptune has applied, as an /etc/sysctl.d/ snippet,
// so an operator can make a decision permanent. Reads the journal directly: no
// daemon needed, nothing is changed.
#include <iostream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "command.hpp"
#include "tcptune/apply/journal.hpp"
#include "tcptune/apply/sysctl_export.hpp"
#include "tcptune/clock.hpp"

namespace tcptune::cli {

namespace {

struct ExportOptions {
    std::string state_dir = "/var/lib/tcptune";
    bool json = false;
};

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
    auto journal = Journal::open(options.state_dir);
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
}

}  // namespace tcptune::cli
