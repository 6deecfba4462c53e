#include "tcptune/engine/namespace_fleet.hpp"

#include <charconv>
#include <system_error>
#include <utility>

#include <fmt/format.h>

#include "tcptune/apply/journal.hpp"
#include "tcptune/netns/netns_sysctl_store.hpp"

namespace tcptune {

namespace fs = std::filesystem;

void FedCensusSource::feed(const NamespaceCounts& counts) {
    CensusSnapshot snapshot;
    snapshot.counts = counts.counts;
    snapshot.sockstat = counts.sockstat;
    snapshot.duration = counts.duration;
    snapshot.taken_at = std::chrono::steady_clock::now();
    next_ = std::move(snapshot);
}

void FedCensusSource::feed_failure(Error error) {
    next_ = tl::unexpected(std::move(error));
}

Result<CensusSnapshot> FedCensusSource::poll() {
    if (!next_) {
        return make_error(ErrorCode::kNotFound, "no census of this namespace since the last poll");
    }
    auto out = std::move(*next_);
    next_.reset();
    return out;
}

namespace {

ControllerConfig namespace_controller_config(const NamespaceFleetConfig& config,
                                             const NetnsInfo& ns, const std::string& profile) {
    ControllerConfig out = config.controller;
    out.profile = profile;
    out.netns = ns.name;
    // A key this namespace has no file for (a kernel without it) is refused at load.
    out.check_keys_exist = true;
    // Other namespaces have state counts and sockstat only (see the header).
    out.extra_signals = {};
    return out;
}

ApplierOptions namespace_applier_options(const NamespaceFleetConfig& config,
                                         const fs::path& journal_dir) {
    ApplierOptions out;
    out.state_dir = journal_dir;
    out.mode = config.controller.mode;
    out.limits = config.limits;
    return out;
}

// Closes a namespace's journal directory: moved aside when it journaled anything,
// removed when it holds only the identity (a watch-only profile, a namespace nothing
// was written in), so pod churn leaves no pile of empty directories. Returns what
// happened, for the log line.
Result<std::string> retire_journal_dir(const fs::path& state_dir, const fs::path& dir,
                                       std::chrono::system_clock::time_point now) {
    std::error_code ec;
    if (!fs::exists(dir / std::string(kJournalFileName), ec)) {
        fs::remove_all(dir, ec);
        if (ec) {
            return make_error(ErrorCode::kIo,
                              fmt::format("cannot remove {}: {}", dir.string(), ec.message()));
        }
        return std::string("removed (nothing was journaled)");
    }
    fs::path closed;
    TRY_ASSIGN(closed, close_netns_journal(state_dir, dir, now));
    return "closed as " + closed.string();
}

std::string describe(const NetnsInfo& ns) {
    return fmt::format("namespace {} (inode {})", ns.name, ns.id.inode);
}

}  // namespace

ManagedNamespace::ManagedNamespace(NetnsInfo ns, NetnsIdentity identity, const Clock& clock,
                                   const NamespaceFleetConfig& config, const std::string& profile)
    : ns_(std::move(ns)),
      identity_(std::move(identity)),
      journal_dir_(netns_journal_dir(config.state_dir, ns_.id.inode)),
      profile_(profile),
      store_(ns_),
      applier_(store_, clock, namespace_applier_options(config, journal_dir_)),
      controller_(census_, store_, clock, applier_,
                  namespace_controller_config(config, ns_, profile)) {}

NamespaceFleet::NamespaceFleet(NamespaceFleetConfig config, const Clock& clock)
    : config_(std::move(config)), clock_(clock), boot_id_(current_boot_id()) {}

NamespaceFleet::~NamespaceFleet() = default;

std::string NamespaceFleet::selected_profile(const NetnsInfo& ns) const {
    if (ns.own) {
        return std::string(kNoProfile);
    }
    return select_namespace_profile(config_.settings, ns);
}

Result<NetnsIdentity> NamespaceFleet::live_identity(const NetnsInfo& ns) const {
    NetnsIdentity out;
    TRY_ASSIGN(out.cookie, read_netns_cookie(ns));
    out.inode = ns.id.inode;
    out.device = ns.id.device;
    out.boot_id = boot_id_;
    out.name = ns.name;
    return out;
}

std::vector<FleetNote> NamespaceFleet::update(const std::vector<NetnsInfo>& discovered,
                                              const std::vector<NamespaceCounts>& counted) {
    std::vector<FleetNote> notes;
    std::map<std::uint64_t, const NetnsInfo*> present;
    for (const NetnsInfo& ns : discovered) {
        if (!ns.own) {
            present[ns.id.inode] = &ns;
        }
    }
    // The monitor's census thread read each counted namespace's cookie from inside
    // it this round: reuse it rather than enter the namespace again on the loop.
    std::map<std::uint64_t, std::uint64_t> counted_cookie;
    for (const NamespaceCounts& c : counted) {
        if (c.ns.cookie != 0) {
            counted_cookie[c.ns.id.inode] = c.ns.cookie;
        }
    }
    if (first_round_) {
        close_stale_journals(discovered, notes);
        first_round_ = false;
    }

    // Gone, or another namespace behind the inode: its controller stops and its
    // journal is closed, never replayed.
    std::vector<std::pair<std::uint64_t, std::string>> to_drop;
    for (auto& [inode, managed] : managed_) {
        auto it = present.find(inode);
        if (it == present.end() || it->second->id != managed->ns_.id) {
            to_drop.emplace_back(inode, "vanished");
            continue;
        }
        // The handle may have changed (the pid it was reached through exited); the
        // name stays the one it was opened under (logs, metrics and journal agree).
        NetnsInfo fresh = *it->second;
        fresh.name = managed->ns_.name;
        managed->ns_ = fresh;
        managed->store_.set_ns(std::move(fresh));
        const auto seen = counted_cookie.find(inode);
        auto cookie = seen != counted_cookie.end() ? Result<std::uint64_t>(seen->second)
                                                   : read_netns_cookie(*it->second);
        if (!cookie) {
            if (cookie.error().code == ErrorCode::kNotFound) {
                to_drop.emplace_back(inode, "vanished");
            }
            continue;  // cannot enter it right now: the poll below reports it
        }
        if (*cookie != managed->identity_.cookie) {
            to_drop.emplace_back(inode, "was replaced by another namespace with the same inode");
        }
    }
    for (const auto& [inode, why] : to_drop) {
        drop(inode, /*close_journal=*/true, why, notes);
    }
    for (auto it = refused_.begin(); it != refused_.end();) {
        it = present.count(it->first) == 0 ? refused_.erase(it) : std::next(it);
    }

    for (const auto& [inode, ns] : present) {
        const std::string profile = selected_profile(*ns);
        if (auto it = managed_.find(inode); it != managed_.end()) {
            if (it->second->profile_ == profile) {
                continue;
            }
            if (profile == kNoProfile) {
                // Released as at daemon shutdown: the stop policy restores the
                // originals or keeps tcptune's values (the journal stays for them).
                release(*it->second, notes);
            }
            // A reload selected another profile: the journal stays with the namespace,
            // so the originals recorded before tcptune's first write stay the originals.
            drop(inode, /*close_journal=*/false, "now selects profile " + profile, notes);
        }
        if (profile == kNoProfile) {
            refused_.erase(inode);
            continue;
        }
        if (auto it = refused_.find(inode); it != refused_.end() && it->second.profile == profile) {
            continue;  // said once; a reload or another profile tries again
        }
        open(*ns, profile, notes);
    }

    std::map<std::uint64_t, const NamespaceCounts*> counts;
    for (const NamespaceCounts& c : counted) {
        counts[c.ns.id.inode] = &c;
    }
    for (auto& [inode, managed] : managed_) {
        auto it = counts.find(inode);
        if (it != counts.end() && it->second->ns.id == managed->ns_.id) {
            managed->feed(*it->second);
        } else {
            managed->feed_failure(Error{ErrorCode::kNotFound,
                                        describe(managed->ns_) + " was not counted this round"});
        }
        (void)managed->controller_.poll_once();  // the controller records and reports errors
    }
    return notes;
}

void NamespaceFleet::open(const NetnsInfo& ns, const std::string& profile,
                          std::vector<FleetNote>& notes) {
    auto refuse = [&](Error error) {
        notes.push_back(
            {FleetNote::Level::kWarning,
             fmt::format("{}: profile {} not applied: {}", describe(ns), profile, error.message)});
        refused_[ns.id.inode] = RefusedNamespace{ns, profile, std::move(error)};
    };
    auto identity = live_identity(ns);
    if (!identity) {
        if (identity.error().code == ErrorCode::kNotFound) {
            return;  // gone since discovery: nothing to say; the next round knows
        }
        refuse(identity.error());
        return;
    }
    const fs::path dir = netns_journal_dir(config_.state_dir, ns.id.inode);
    std::error_code ec;
    if (fs::exists(dir, ec)) {
        auto stored = read_netns_identity(dir);
        if (!stored || !same_namespace(*stored, *identity)) {
            auto closed = retire_journal_dir(config_.state_dir, dir, clock_.wall_now());
            if (!closed) {
                refuse(closed.error());
                return;
            }
            notes.push_back(
                {FleetNote::Level::kWarning,
                 fmt::format("{}: the journal in {} was written for another namespace "
                             "with this inode ({}); {}, not applied",
                             describe(ns), dir.string(),
                             stored ? "a different cookie or boot" : stored.error().message,
                             *closed)});
        }
    }
    // Advice mode never touches a journal, so it writes no identity either.
    if (config_.controller.mode == ApplyMode::kEnforce) {
        if (auto written = write_netns_identity(dir, *identity); !written) {
            refuse(written.error());
            return;
        }
    }
    auto managed = std::make_unique<ManagedNamespace>(ns, *identity, clock_, config_, profile);
    if (auto started = managed->controller_.start(); !started) {
        // Nothing was written: leave no directory behind unless a journal exists.
        if (!fs::exists(dir / std::string(kJournalFileName), ec)) {
            fs::remove_all(dir, ec);
        }
        refuse(started.error());
        return;
    }
    for (const Rule& rule : managed->controller_.profile().rules) {
        if (rule.when.metric.kind != Metric::Kind::kState) {
            managed->unavailable_rules_.push_back(rule.name);
        }
    }
    notes.push_back({FleetNote::Level::kInfo, fmt::format("{}: profile {} in force, journal {}",
                                                          describe(ns), profile, dir.string())});
    if (!managed->unavailable_rules_.empty()) {
        notes.push_back({FleetNote::Level::kInfo,
                         fmt::format("{}: rules {} read socket-table signals or kernel counters, "
                                     "which tcptune computes only in its own namespace: they "
                                     "never fire here",
                                     describe(ns), fmt::join(managed->unavailable_rules_, ", "))});
    }
    if (const auto& error = managed->applier_.journal_error()) {
        notes.push_back(
            {FleetNote::Level::kWarning, fmt::format("{}: {}", describe(ns), error->message)});
    }
    refused_.erase(ns.id.inode);
    ManagedNamespace& ref = *managed;
    managed_[ns.id.inode] = std::move(managed);
    if (observer_ != nullptr) {
        observer_->on_opened(ref);
    }
}

void NamespaceFleet::release(ManagedNamespace& managed, std::vector<FleetNote>& notes) {
    std::size_t failed = 0;
    std::size_t changed = 0;
    for (const ChangeRecord& record : managed.controller_.stop()) {
        failed += record.result == ChangeResult::kFailed ? 1U : 0U;
        changed += record.result == ChangeResult::kRestored ? 1U : 0U;
    }
    notes.push_back(
        {failed > 0 ? FleetNote::Level::kWarning : FleetNote::Level::kInfo,
         fmt::format("{}: released under stop policy {}: {} sysctls restored{}",
                     describe(managed.ns_), to_string(managed.controller_.config().stop_policy),
                     changed, failed > 0 ? fmt::format(", {} failed", failed) : std::string())});
}

std::vector<FleetNote> NamespaceFleet::reconfigure(NamespaceFleetConfig config) {
    config_ = std::move(config);
    refused_.clear();  // tried again in the next round, with the new settings and files
    std::vector<FleetNote> notes;
    for (auto& [inode, managed] : managed_) {
        const std::string profile = selected_profile(managed->ns_);
        if (profile != managed->profile_) {
            continue;  // replaced or released by the next update()
        }
        auto reloaded = managed->controller_.reload(
            namespace_controller_config(config_, managed->ns_, profile));
        if (!reloaded) {
            notes.push_back(
                {FleetNote::Level::kWarning,
                 fmt::format("{}: reload failed, still running profile {}: {}",
                             describe(managed->ns_), profile, reloaded.error().message)});
        }
    }
    return notes;
}

void NamespaceFleet::drop(std::uint64_t inode, bool close_journal, const std::string& why,
                          std::vector<FleetNote>& notes) {
    auto it = managed_.find(inode);
    if (it == managed_.end()) {
        return;
    }
    if (observer_ != nullptr) {
        observer_->on_closing(*it->second);
    }
    const NetnsInfo ns = it->second->ns_;
    const fs::path dir = it->second->journal_dir_;
    managed_.erase(it);
    std::string message = fmt::format("{} {}: its controller stopped", describe(ns), why);
    if (close_journal) {
        std::error_code ec;
        if (fs::exists(dir, ec)) {
            auto closed = retire_journal_dir(config_.state_dir, dir, clock_.wall_now());
            message += closed ? ", journal " + *closed
                              : fmt::format(", journal NOT closed: {}", closed.error().message);
        }
    }
    notes.push_back({FleetNote::Level::kInfo, std::move(message)});
}

void NamespaceFleet::close_stale_journals(const std::vector<NetnsInfo>& discovered,
                                          std::vector<FleetNote>& notes) {
    for (const StoredNetnsJournal& stored : list_netns_journals(config_.state_dir)) {
        const NetnsInfo* ns = nullptr;
        for (const NetnsInfo& candidate : discovered) {
            if (!candidate.own && candidate.id.inode == stored.inode) {
                ns = &candidate;
            }
        }
        std::string why;
        if (!stored.identity) {
            why = "its identity cannot be read (" + stored.identity.error().message + ")";
        } else if (ns == nullptr) {
            why = fmt::format("its namespace ({}) is gone", stored.identity->name);
        } else if (auto live = live_identity(*ns); !live) {
            if (live.error().code != ErrorCode::kNotFound) {
                continue;  // cannot tell now: decided when the namespace is opened
            }
            why = fmt::format("its namespace ({}) is gone", stored.identity->name);
        } else if (!same_namespace(*stored.identity, *live)) {
            why = fmt::format("inode {} now belongs to another namespace ({})", stored.inode,
                              ns->name);
        } else {
            continue;  // still the same namespace: kept, reopened if selected
        }
        auto closed = retire_journal_dir(config_.state_dir, stored.dir, clock_.wall_now());
        notes.push_back(
            {FleetNote::Level::kInfo,
             closed ? fmt::format("namespace journal {} {}: {}; its entries are not applied",
                                  stored.dir.string(), *closed, why)
                    : fmt::format("namespace journal {} should be closed ({}) but: {}",
                                  stored.dir.string(), why, closed.error().message)});
    }
}

ManagedNamespace* NamespaceFleet::find(std::string_view name_or_inode) {
    std::uint64_t inode = 0;
    const auto* end = name_or_inode.data() + name_or_inode.size();
    const bool numeric =
        !name_or_inode.empty() && std::from_chars(name_or_inode.data(), end, inode).ptr == end;
    for (auto& [key, managed] : managed_) {
        if ((numeric && key == inode) || managed->ns_.name == name_or_inode ||
            (!managed->ns_.ip_netns_name.empty() && managed->ns_.ip_netns_name == name_or_inode)) {
            return managed.get();
        }
    }
    return nullptr;
}

std::vector<ManagedNamespace*> NamespaceFleet::managed() {
    std::vector<ManagedNamespace*> out;
    for (auto& [inode, managed] : managed_) {
        out.push_back(managed.get());
    }
    return out;
}

std::vector<ChangeRecord> NamespaceFleet::stop() {
    std::vector<ChangeRecord> out;
    for (auto& [inode, managed] : managed_) {
        auto records = managed->controller_.stop();
        out.insert(out.end(), records.begin(), records.end());
    }
    return out;
}

}  // namespace tcptune
