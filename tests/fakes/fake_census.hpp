#pragma once

// A scripted CensusSource for daemon, rule and metrics tests: poll() returns the
// queued snapshots (or errors) in order, then keeps returning the last one.

#include <cstdint>
#include <deque>
#include <initializer_list>
#include <mutex>
#include <optional>
#include <utility>

#include "tcptune/census/census.hpp"

namespace tcptune::test {

// A snapshot with the given per-state counts and everything else zero.
CensusSnapshot snapshot_with(std::initializer_list<std::pair<TcpState, std::uint64_t>> counts);

class FakeCensusSource final : public CensusSource {
  public:
    FakeCensusSource() = default;
    explicit FakeCensusSource(std::initializer_list<CensusSnapshot> script);

    void push(CensusSnapshot snapshot);
    void push_error(Error error);

    // Pops the next scripted result; when the script is exhausted, repeats the last
    // result. Polling a source that was never scripted is an ErrorCode::kInternal error.
    Result<CensusSnapshot> poll() override;

    std::size_t poll_count() const;
    std::size_t pending() const;

  private:
    mutable std::mutex mutex_;  // the daemon may poll from its own thread
    std::deque<Result<CensusSnapshot>> script_;
    std::optional<Result<CensusSnapshot>> last_;
    std::size_t polls_ = 0;
};

}  // namespace tcptune::test
