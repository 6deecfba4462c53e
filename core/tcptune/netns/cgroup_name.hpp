#pragma once

// Naming a network namespace after the workload in it, from the cgroup path of one of
// its processes (/proc/<pid>/cgroup). Pure functions over text, so every layout is a
// unit-test fixture (tests/unit/netns/cgroup_name_test.cpp).
//
// Layouts recognised (systemd and cgroupfs drivers):
//   Kubernetes  .../kubepods-burstable-pod<uid_with_underscores>.slice/...   -> pod:<uid>
//               /kubepods/burstable/pod<uid>/<container id>                -> pod:<uid>
//   Docker      /system.slice/docker-<id>.scope, /docker/<id>               -> docker:<id12>
//   containerd  .../cri-containerd-<id>.scope                               -> containerd:<id12>
//   CRI-O       .../crio-<id>.scope, .../crio-conmon-<id>.scope             -> crio:<id12>
//   Podman      .../libpod-<id>.scope, /machine.slice/libpod-<id>.scope     -> podman:<id12>
//   nspawn      /machine.slice/systemd-nspawn@<name>.service/...            -> machine:<name>
//               /machine.slice/machine-<escaped name>.scope/...             -> machine:<name>
// A pod wins over its containers: every container of a pod shares the pod's namespace.

#include <optional>
#include <string>
#include <string_view>

namespace tcptune {

// The cgroup path a process's /proc/<pid>/cgroup names: the unified (v2, "0::") line
// when it says more than "/", else the first v1 line whose path does ("" if none).
std::string cgroup_path_from_proc(std::string_view proc_pid_cgroup);

// The workload a cgroup path belongs to ("pod:<uid>", "docker:<id12>", ...), or
// nullopt for a path of no known container layout.
std::optional<std::string> workload_name_from_cgroup(std::string_view cgroup_path);

}  // namespace tcptune
