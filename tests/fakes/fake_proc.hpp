#pragma once

// A fake /proc for the socket-owner scan: <root>/<pid>/comm and
// <root>/<pid>/fd/<n> -> "socket:[inode]" (or any other link target), in a
// temporary directory removed with the object.

#include <filesystem>
#include <string>
#include <vector>

#include "fakes/applier_fakes.hpp"

namespace tcptune::test {

class FakeProc {
  public:
    // A process with fds 3, 4, ... linking to `links`; an empty comm writes no comm file.
    void process(int pid, const std::string& comm, const std::vector<std::string>& links);
    const std::filesystem::path& root() const { return dir_.path(); }

  private:
    TempDir dir_;
};

}  // namespace tcptune::test
