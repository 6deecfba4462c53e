#include "fakes/fake_census.hpp"

namespace tcptune::test {

CensusSnapshot snapshot_with(std::initializer_list<std::pair<TcpState, std::uint64_t>> counts) {
    CensusSnapshot snapshot;
    for (auto [state, n] : counts) {
        snapshot.counts[state] = n;
    }
    return snapshot;
}

FakeCensusSource::FakeCensusSource(std::initializer_list<CensusSnapshot> script) {
    for (const auto& s : script) {
        script_.emplace_back(s);
    }
}

void FakeCensusSource::push(CensusSnapshot snapshot) {
    std::lock_guard lock(mutex_);
    script_.emplace_back(std::move(snapshot));
}

void FakeCensusSource::push_error(Error error) {
    std::lock_guard lock(mutex_);
    script_.emplace_back(tl::unexpected(std::move(error)));
}

Result<CensusSnapshot> FakeCensusSource::poll() {
    std::lock_guard lock(mutex_);
    ++polls_;
    if (!script_.empty()) {
        last_ = std::move(script_.front());
        script_.pop_front();
    }
    if (!last_) {
        return make_error(ErrorCode::kInternal,
                          "FakeCensusSource polled before any snapshot was scripted");
    }
    return *last_;
}

std::size_t FakeCensusSource::poll_count() const {
    std::lock_guard lock(mutex_);
    return polls_;
}

std::size_t FakeCensusSource::pending() const {
    std::lock_guard lock(mutex_);
    return script_.size();
}

}  // namespace tcptune::test
