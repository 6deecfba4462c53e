#include "fakes/fake_proc.hpp"

#include <fstream>

namespace tcptune::test {

void FakeProc::process(int pid, const std::string& comm, const std::vector<std::string>& links) {
    const auto dir = root() / std::to_string(pid);
    std::filesystem::create_directories(dir / "fd");
    if (!comm.empty()) {
        std::ofstream(dir / "comm") << comm << "\n";
    }
    int fd = 3;
    for (const auto& link : links) {
        std::filesystem::create_symlink(link, dir / "fd" / std::to_string(fd++));
    }
}

}  // namespace tcptune::test
