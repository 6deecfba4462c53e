// deploy/kubernetes/: the DaemonSet gets exactly the privileges docs/kubernetes.md
// argues for and no more, mounts what tcptuned reads and writes, runs tcptuned
// with flags it accepts, and ships a config and profiles that the project's own
// loaders accept. Read with yaml-cpp (no cluster needed); the flags go through
// tcptuned's own command-line parser, the config through core's config loader and
// the profiles through the real `tcptune profile check`.

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "daemon_options.hpp"
#include "fakes/applier_fakes.hpp"
#include "manifest.hpp"
#include "support/files.hpp"
#include "support/run_command.hpp"
#include "tcptune/config/daemon_config.hpp"

namespace tcptune::test {
namespace {

namespace fs = std::filesystem;

constexpr const char* kExampleNodeIp = "10.20.30.40";

class KubernetesManifestTest : public ::testing::Test {
  protected:
    void SetUp() override {
        for (const auto& doc : load_documents(kKubernetesDir / "tcptune.yaml")) {
            const auto kind = doc["kind"].as<std::string>();
            ASSERT_EQ(objects_.count(kind), 0U) << "two objects of kind " << kind;
            objects_[kind] = doc;
        }
        ASSERT_EQ(objects_.count("DaemonSet"), 1U);
        ASSERT_EQ(objects_.count("ConfigMap"), 1U);
        pod_ = objects_["DaemonSet"]["spec"]["template"]["spec"];
        ASSERT_TRUE(pod_.IsMap());
        ASSERT_EQ(pod_["containers"].size(), 1U) << "one container: tcptuned";
        container_ = pod_["containers"][0];
        security_ = container_["securityContext"];
        ASSERT_TRUE(security_.IsMap()) << "the container states its security context";
    }

    // The pod volume a mount refers to.
    YAML::Node volume_of(const YAML::Node& mount) const {
        for (const auto& volume : pod_["volumes"]) {
            if (volume["name"].as<std::string>() == mount["name"].as<std::string>()) {
                return volume;
            }
        }
        return YAML::Node();
    }

    std::optional<YAML::Node> mount_at(const std::string& path) const {
        for (const auto& mount : container_["volumeMounts"]) {
            if (mount["mountPath"].as<std::string>() == path) {
                return mount;
            }
        }
        return std::nullopt;
    }

    // The container's args with Kubernetes' $(VAR) references expanded from its env
    // (every reference must name a variable the container defines).
    std::vector<std::string> expanded_args() const {
        std::map<std::string, std::string> env;
        for (const auto& var : container_["env"]) {
            const auto field = var["valueFrom"]["fieldRef"]["fieldPath"];
            env[var["name"].as<std::string>()] =
                field && field.as<std::string>() == "status.hostIP" ? kExampleNodeIp : "value";
        }
        std::vector<std::string> out;
        for (const auto& arg : container_["args"]) {
            std::string text = arg.as<std::string>();
            for (auto at = text.find("$("); at != std::string::npos; at = text.find("$(")) {
                const auto end = text.find(')', at);
                const std::string name = text.substr(at + 2, end - at - 2);
                EXPECT_EQ(env.count(name), 1U) << "args use $(" << name << "), which env lacks";
                text.replace(at, end - at + 1, env[name]);
            }
            out.push_back(text);
        }
        return out;
    }

    // The expanded args through tcptuned's own command-line parser; an exit code when
    // it refuses them.
    std::optional<int> parse_args(DaemonOverrides& flags) const {
        std::vector<std::string> args = expanded_args();
        std::string name = "tcptuned";
        std::vector<char*> argv = {name.data()};
        for (auto& arg : args) {
            argv.push_back(arg.data());
        }
        return daemon::parse_command_line(static_cast<int>(argv.size()), argv.data(), flags);
    }

    std::map<std::string, YAML::Node> objects_;
    YAML::Node pod_;
    YAML::Node container_;
    YAML::Node security_;
};

TEST_F(KubernetesManifestTest, HoldsTheObjectsOfANodeAgentInItsOwnNamespace) {
    std::set<std::string> kinds;
    for (const auto& [kind, object] : objects_) {
        kinds.insert(kind);
        if (kind != "Namespace") {
            EXPECT_EQ(object["metadata"]["namespace"].as<std::string>(), "tcptune") << kind;
        }
    }
    EXPECT_EQ(kinds, (std::set<std::string>{"Namespace", "ServiceAccount", "ConfigMap", "DaemonSet",
                                            "Service"}));
    EXPECT_EQ(objects_["Namespace"]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"]
                  .as<std::string>(),
              "privileged")
        << "hostPID, hostNetwork and hostPath are refused under the baseline standard";
    // tcptuned never calls the Kubernetes API.
    EXPECT_FALSE(objects_["ServiceAccount"]["automountServiceAccountToken"].as<bool>());
    EXPECT_FALSE(pod_["automountServiceAccountToken"].as<bool>());
    EXPECT_EQ(pod_["serviceAccountName"].as<std::string>(), "tcptune");
    EXPECT_EQ(objects_["DaemonSet"]["apiVersion"].as<std::string>(), "apps/v1");
    const auto selector = objects_["DaemonSet"]["spec"]["selector"]["matchLabels"];
    const auto labels = objects_["DaemonSet"]["spec"]["template"]["metadata"]["labels"];
    for (const auto& item : selector) {
        EXPECT_EQ(labels[item.first.as<std::string>()].as<std::string>(),
                  item.second.as<std::string>());
    }
}

TEST_F(KubernetesManifestTest, GrantsExactlyTheCapabilitiesItNeedsAndIsNotPrivileged) {
    EXPECT_TRUE(pod_["hostPID"].as<bool>()) << "/proc/PID/ns/net of every process";
    EXPECT_TRUE(pod_["hostNetwork"].as<bool>()) << "its own namespace is the node's";
    EXPECT_FALSE(pod_["hostIPC"] && pod_["hostIPC"].as<bool>());
    EXPECT_FALSE(security_["privileged"] && security_["privileged"].as<bool>());
    EXPECT_EQ(string_set(security_["capabilities"]["drop"]), std::set<std::string>{"ALL"});
    EXPECT_EQ(string_set(security_["capabilities"]["add"]),
              (std::set<std::string>{"SYS_ADMIN", "SYS_PTRACE"}))
        << "CAP_SYS_ADMIN already passes bpf()'s and perf's checks: no BPF or PERFMON; uid 0 "
           "writes /proc/sys/net without NET_ADMIN";
    EXPECT_TRUE(security_["readOnlyRootFilesystem"].as<bool>());
    EXPECT_EQ(security_["runAsUser"].as<int>(), 0);
    // The API server rejects allowPrivilegeEscalation: false beside CAP_SYS_ADMIN.
    EXPECT_FALSE(security_["allowPrivilegeEscalation"] &&
                 !security_["allowPrivilegeEscalation"].as<bool>());
    EXPECT_FALSE(security_["procMount"]) << "the default (masked) /proc is enough";
    const auto seccomp = security_["seccompProfile"] ? security_["seccompProfile"]
                                                     : pod_["securityContext"]["seccompProfile"];
    ASSERT_TRUE(seccomp) << "no seccomp profile";
    EXPECT_EQ(seccomp["type"].as<std::string>(), "RuntimeDefault");
    EXPECT_EQ(security_["appArmorProfile"]["type"].as<std::string>(), "Unconfined");
}

TEST_F(KubernetesManifestTest, MountsNetnsStateAndConfigAndNothingElseOfTheHost) {
    auto netns = mount_at("/run/netns");
    ASSERT_TRUE(netns.has_value());
    EXPECT_TRUE((*netns)["readOnly"].as<bool>());
    EXPECT_EQ((*netns)["mountPropagation"].as<std::string>(), "HostToContainer")
        << "namespaces added with `ip netns add` after the pod started must show up";
    EXPECT_EQ(volume_of(*netns)["hostPath"]["path"].as<std::string>(), "/run/netns");

    auto state = mount_at("/var/lib/tcptune");
    ASSERT_TRUE(state.has_value());
    EXPECT_FALSE((*state)["readOnly"] && (*state)["readOnly"].as<bool>());
    EXPECT_EQ(volume_of(*state)["hostPath"]["path"].as<std::string>(), "/var/lib/tcptune")
        << "the journal of originals must outlive the pod";

    auto config = mount_at("/etc/tcptune");
    ASSERT_TRUE(config.has_value());
    EXPECT_TRUE((*config)["readOnly"].as<bool>());
    EXPECT_EQ(volume_of(*config)["configMap"]["name"].as<std::string>(),
              objects_["ConfigMap"]["metadata"]["name"].as<std::string>());

    std::set<std::string> host_paths;
    for (const auto& volume : pod_["volumes"]) {
        if (volume["hostPath"]) {
            host_paths.insert(volume["hostPath"]["path"].as<std::string>());
        }
    }
    EXPECT_EQ(host_paths, (std::set<std::string>{"/run/netns", "/var/lib/tcptune"}));
    EXPECT_EQ(container_["volumeMounts"].size(), pod_["volumes"].size());
    for (const auto& mount : container_["volumeMounts"]) {
        EXPECT_TRUE(volume_of(mount)) << "no volume " << mount["name"];
    }
}

TEST_F(KubernetesManifestTest, RunsTcptunedWithFlagsItAcceptsWithoutDbus) {
    // The shell only remounts /proc/sys and then becomes the daemon the package installs.
    const auto command = container_["command"];
    ASSERT_EQ(command.size(), 4U);
    EXPECT_EQ(command[0].as<std::string>(), "/bin/sh");
    EXPECT_EQ(command[1].as<std::string>(), "-c");
    EXPECT_EQ(command[2].as<std::string>(),
              R"(mount -o remount,bind,rw /proc/sys && exec /usr/sbin/tcptuned "$@")");

    DaemonOverrides flags;
    const auto exit = parse_args(flags);
    ASSERT_FALSE(exit.has_value())
        << "tcptuned refuses these flags (exit " << exit.value_or(-1) << ")";
    EXPECT_EQ(flags.bus, BusKind::kNone) << "no D-Bus on a node";
    EXPECT_EQ(flags.metrics_address, std::string(kExampleNodeIp) + ":9477");
    EXPECT_EQ(flags.config_file, fs::path("/etc/tcptune/tcptune.yaml"));

    // The metrics port is declared, announced to Prometheus and served by the Service.
    EXPECT_EQ(container_["ports"][0]["name"].as<std::string>(), "metrics");
    EXPECT_EQ(container_["ports"][0]["containerPort"].as<int>(), 9477);
    const auto annotations = objects_["DaemonSet"]["spec"]["template"]["metadata"]["annotations"];
    EXPECT_EQ(annotations["prometheus.io/scrape"].as<std::string>(), "true");
    EXPECT_EQ(annotations["prometheus.io/port"].as<std::string>(), "9477");
    EXPECT_EQ(annotations["prometheus.io/path"].as<std::string>(), "/metrics");
    EXPECT_EQ(container_["livenessProbe"]["httpGet"]["path"].as<std::string>(), "/metrics");
    // The alert rules expect job="tcptune": the Service's name is the job.
    EXPECT_EQ(objects_["Service"]["metadata"]["name"].as<std::string>(), "tcptune");
    EXPECT_EQ(objects_["Service"]["spec"]["ports"][0]["targetPort"].as<std::string>(), "metrics");
}

TEST_F(KubernetesManifestTest, TheServiceMonitorScrapesTheService) {
    const auto docs = load_documents(kKubernetesDir / "servicemonitor.yaml");
    ASSERT_EQ(docs.size(), 1U);
    const auto& monitor = docs[0];
    EXPECT_EQ(monitor["kind"].as<std::string>(), "ServiceMonitor");
    EXPECT_EQ(monitor["apiVersion"].as<std::string>(), "monitoring.coreos.com/v1");
    const auto service_labels = objects_["Service"]["metadata"]["labels"];
    for (const auto& item : monitor["spec"]["selector"]["matchLabels"]) {
        EXPECT_EQ(service_labels[item.first.as<std::string>()].as<std::string>(),
                  item.second.as<std::string>());
    }
    EXPECT_EQ(string_set(monitor["spec"]["namespaceSelector"]["matchNames"]),
              std::set<std::string>{"tcptune"});
    EXPECT_EQ(monitor["spec"]["endpoints"][0]["port"].as<std::string>(), "metrics");
}

// The ConfigMap's tcptune.yaml through core's config loader, with the DaemonSet's
// flags on top, exactly as the daemon will merge them.
TEST_F(KubernetesManifestTest, TheConfigLoadsWithTheDaemonsOwnLoader) {
    const auto data = objects_["ConfigMap"]["data"];
    ASSERT_TRUE(data["tcptune.yaml"]) << "the ConfigMap has no tcptune.yaml";
    const std::string text = data["tcptune.yaml"].as<std::string>();

    // The namespaces block the DaemonSet is for: every namespace watched, none written
    // unless a selector gives it a profile.
    const YAML::Node config = YAML::Load(text);
    const auto namespaces = config["namespaces"];
    ASSERT_TRUE(namespaces.IsMap());
    EXPECT_EQ(namespaces["watch"].as<std::string>(), "all");
    EXPECT_EQ(namespaces["default_profile"].as<std::string>(), "none");
    ASSERT_TRUE(namespaces["select"].IsSequence());
    ASSERT_GE(namespaces["select"].size(), 1U);
    for (const auto& entry : namespaces["select"]) {
        EXPECT_NE(static_cast<bool>(entry["name"]), static_cast<bool>(entry["cgroup"]))
            << "a selector matches by name or by cgroup";
        EXPECT_TRUE(entry["profile"]) << "a selector names a profile";
        EXPECT_EQ(entry.size(), 2U);
    }

    TempDir dir;
    const auto file = dir.path() / "tcptune.yaml";
    ASSERT_TRUE(write_text(file, text));
    DaemonOverrides flags;
    ASSERT_FALSE(parse_args(flags));
    flags.config_file = file;  // the ConfigMap's copy instead of /etc/tcptune
    auto options = load_daemon_options(flags);
    ASSERT_TRUE(options.has_value()) << options.error().message;
    EXPECT_EQ(options->bus, BusKind::kNone);
    EXPECT_EQ(options->state_dir, fs::path("/var/lib/tcptune"))
        << "the journal must land on the hostPath volume";
    EXPECT_EQ(options->stop_policy, StopPolicy::kRestore)
        << "with no bus, stopping the pod is the rollback";
    EXPECT_EQ(options->metrics_address, std::string(kExampleNodeIp) + ":9477");
    // What the loader made of the namespaces block, not just its YAML shape.
    EXPECT_EQ(options->namespaces.watch, NetnsWatch::kAll);
    EXPECT_EQ(options->namespaces.default_profile, kNoProfile);
    EXPECT_EQ(options->namespaces.select.size(), namespaces["select"].size());
}

// Every other key of the ConfigMap is a profile, installed under
// /etc/tcptune/profiles and valid for the real `tcptune profile check`, and every
// profile the selectors name exists there or among the shipped profiles.
TEST_F(KubernetesManifestTest, TheProfilesPassProfileCheck) {
    const auto data = objects_["ConfigMap"]["data"];
    std::map<std::string, std::string> items;  // key -> path in the volume
    auto config = mount_at("/etc/tcptune");
    ASSERT_TRUE(config.has_value());
    for (const auto& item : volume_of(*config)["configMap"]["items"]) {
        items[item["key"].as<std::string>()] = item["path"].as<std::string>();
    }
    EXPECT_EQ(items["tcptune.yaml"], "tcptune.yaml");

    TempDir dir;
    const auto site = dir.path() / "profiles";
    fs::create_directories(site);
    std::vector<std::string> argv = {fs::path(TCPTUNE_BIN_DIR) / "tcptune",
                                     "profile",
                                     "check",
                                     "--profile-dir",
                                     site.string(),
                                     "--profile-dir",
                                     (fs::path(TCPTUNE_SOURCE_DIR) / "profiles").string()};
    std::size_t profiles = 0;
    for (const auto& entry : data) {
        const auto key = entry.first.as<std::string>();
        if (key == "tcptune.yaml") {
            continue;
        }
        ++profiles;
        EXPECT_EQ(items[key], "profiles/" + key) << key << " is not installed as a profile";
        ASSERT_TRUE(write_text(site / key, entry.second.as<std::string>()));
        argv.push_back((site / key).string());
    }
    ASSERT_GE(profiles, 1U);
    const auto check = run_process(argv);
    EXPECT_EQ(check.exit_code, 0) << describe(check);

    const YAML::Node tcptune_yaml = YAML::Load(data["tcptune.yaml"].as<std::string>());
    std::vector<std::string> named;
    for (const auto& entry : tcptune_yaml["namespaces"]["select"]) {
        named.push_back(entry["profile"].as<std::string>());
    }
    if (tcptune_yaml["profile"]) {
        named.push_back(tcptune_yaml["profile"].as<std::string>());
    }
    for (const auto& profile : named) {
        const bool found =
            fs::exists(site / (profile + ".yaml")) ||
            fs::exists(fs::path(TCPTUNE_SOURCE_DIR) / "profiles" / (profile + ".yaml"));
        EXPECT_TRUE(found) << "the config names profile " << profile << ", which nobody ships";
    }
}

}  // namespace
}  // namespace tcptune::test
