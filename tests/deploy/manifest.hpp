#pragma once

// Reading deploy/kubernetes/ in the deploy tests: the YAML documents of a file and
// the pieces of the DaemonSet they check.

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace tcptune::test {

inline const std::filesystem::path kKubernetesDir =
    std::filesystem::path(TCPTUNE_SOURCE_DIR) / "deploy" / "kubernetes";

// Every non-empty document of a multi-document YAML file.
inline std::vector<YAML::Node> load_documents(const std::filesystem::path& file) {
    std::vector<YAML::Node> out;
    for (const auto& doc : YAML::LoadAllFromFile(file.string())) {
        if (!doc.IsNull()) {
            out.push_back(doc);
        }
    }
    return out;
}

inline std::set<std::string> string_set(const YAML::Node& list) {
    std::set<std::string> out;
    for (const auto& item : list) {
        out.insert(item.as<std::string>());
    }
    return out;
}

// The DaemonSet's (only) container in tcptune.yaml.
inline YAML::Node tcptuned_container() {
    for (const auto& doc : load_documents(kKubernetesDir / "tcptune.yaml")) {
        if (doc["kind"].as<std::string>() == "DaemonSet") {
            return doc["spec"]["template"]["spec"]["containers"][0];
        }
    }
    return YAML::Node();
}

}  // namespace tcptune::test
