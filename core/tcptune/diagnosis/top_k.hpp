#pragma once

// A fixed-capacity heavy-hitter table: the "space-saving" algorithm of Metwally,
// Agrawal and El Abbadi (2005) over a stream-summary (counters grouped into buckets
// of equal count, buckets in ascending order), so every add() is O(1) and nothing
// allocates after construction.
//
// Guarantees, with N items added and capacity K:
//  - while at most K distinct keys have been seen, every count is exact (exact());
//  - afterwards, each reported count over-estimates the true count by at most its
//    `error`, and any key whose true count exceeds N / K is in the table.
// This is what lets a breakdown over millions of sockets use bounded memory and
// still name the ports or peers that matter.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <vector>

namespace tcptune {

template <typename Key, typename Hash = std::hash<Key>, typename Equal = std::equal_to<Key>>
class SpaceSavingTopK {
  public:
    struct Counted {
        Key key{};
        std::uint64_t count = 0;  // an upper bound of the true count (exact when error == 0)
        std::uint64_t error = 0;  // count - error is a lower bound of the true count
    };

    explicit SpaceSavingTopK(std::size_t capacity)
        : capacity_(capacity == 0 ? 1 : capacity),
          slots_(capacity_),
          buckets_(capacity_ + 1),
          index_(table_size_for(capacity_), kEmpty) {
        clear();
    }

    // Forgets everything (keeps the memory): for a dump that has to be retried.
    void clear() {
        used_ = 0;
        evictions_ = 0;
        total_ = 0;
        lowest_bucket_ = kNil;
        free_bucket_ = kNil;
        for (std::size_t b = 0; b < buckets_.size(); ++b) {
            buckets_[b].next = b + 1 < buckets_.size() ? b + 1 : kNil;
        }
        free_bucket_ = buckets_.empty() ? kNil : 0;
        std::fill(index_.begin(), index_.end(), kEmpty);
    }

    void add(const Key& key) {
        ++total_;
        const std::size_t pos = find(key);
        if (index_[pos] != kEmpty) {
            increment(index_[pos]);
            return;
        }
        if (used_ < capacity_) {
            const std::size_t slot = used_++;
            slots_[slot].key = key;
            slots_[slot].error = 0;
            index_[pos] = slot;
            attach_with_count_one(slot);
            return;
        }
        // Full: the new key takes over a counter with the smallest count, inheriting
        // that count as its possible error.
        ++evictions_;
        const std::size_t slot = buckets_[lowest_bucket_].head;
        erase_from_index(slots_[slot].key);
        slots_[slot].key = key;
        slots_[slot].error = buckets_[lowest_bucket_].count;
        index_[find(key)] = slot;
        increment(slot);
    }

    // True while no counter was ever taken over: every count is exact.
    bool exact() const { return evictions_ == 0; }
    std::size_t capacity() const { return capacity_; }
    std::size_t size() const { return used_; }
    std::uint64_t total() const { return total_; }

    // The (up to) n largest counters, largest first; ties by smaller error first.
    std::vector<Counted> top(std::size_t n) const {
        std::vector<Counted> out;
        out.reserve(n < used_ ? n : used_);
        // Walk buckets from the highest count down.
        std::size_t b = lowest_bucket_;
        std::size_t highest = kNil;
        while (b != kNil) {
            highest = b;
            b = buckets_[b].next;
        }
        for (b = highest; b != kNil && out.size() < n; b = buckets_[b].prev) {
            const std::size_t first = out.size();
            for (std::size_t s = buckets_[b].head; s != kNil; s = slots_[s].next) {
                out.push_back(Counted{slots_[s].key, buckets_[b].count, slots_[s].error});
            }
            std::stable_sort(out.begin() + static_cast<std::ptrdiff_t>(first), out.end(),
                             [](const Counted& a, const Counted& c) { return a.error < c.error; });
            if (out.size() > n) {
                out.resize(n);
            }
        }
        return out;
    }

  private:
    static constexpr std::size_t kNil = std::numeric_limits<std::size_t>::max();
    static constexpr std::size_t kEmpty = kNil;

    struct Slot {
        Key key{};
        std::uint64_t error = 0;
        std::size_t bucket = kNil;
        std::size_t prev = kNil;  // within the bucket
        std::size_t next = kNil;
    };
    struct Bucket {
        std::uint64_t count = 0;
        std::size_t head = kNil;
        std::size_t prev = kNil;  // lower count
        std::size_t next = kNil;  // higher count (also the free-list link)
    };

    // Open addressing with linear probing at a load factor of at most 1/2.
    static std::size_t table_size_for(std::size_t capacity) {
        std::size_t size = 8;
        while (size < 2 * capacity) {
            size *= 2;
        }
        return size;
    }

    std::size_t home(const Key& key) const { return Hash{}(key) & (index_.size() - 1); }

    // The index position holding `key`, or the empty position where it would go.
    std::size_t find(const Key& key) const {
        std::size_t pos = home(key);
        while (index_[pos] != kEmpty && !Equal{}(slots_[index_[pos]].key, key)) {
            pos = (pos + 1) & (index_.size() - 1);
        }
        return pos;
    }

    // Backward-shift deletion keeps probe chains intact without tombstones.
    void erase_from_index(const Key& key) {
        const std::size_t mask = index_.size() - 1;
        std::size_t hole = find(key);
        std::size_t pos = hole;
        for (;;) {
            pos = (pos + 1) & mask;
            if (index_[pos] == kEmpty) {
                break;
            }
            const std::size_t want = home(slots_[index_[pos]].key);
            // Move the entry back if its home is not in (hole, pos] cyclically.
            const bool between =
                hole <= pos ? (want > hole && want <= pos) : (want > hole || want <= pos);
            if (!between) {
                index_[hole] = index_[pos];
                hole = pos;
            }
        }
        index_[hole] = kEmpty;
    }

    std::size_t new_bucket(std::uint64_t count) {
        const std::size_t b = free_bucket_;  // never exhausted: at most one per used slot + 1
        free_bucket_ = buckets_[b].next;
        buckets_[b] = Bucket{count, kNil, kNil, kNil};
        return b;
    }

    void link_after(std::size_t b, std::size_t after) {
        buckets_[b].prev = after;
        if (after == kNil) {
            buckets_[b].next = lowest_bucket_;
            if (lowest_bucket_ != kNil) {
                buckets_[lowest_bucket_].prev = b;
            }
            lowest_bucket_ = b;
        } else {
            buckets_[b].next = buckets_[after].next;
            if (buckets_[after].next != kNil) {
                buckets_[buckets_[after].next].prev = b;
            }
            buckets_[after].next = b;
        }
    }

    void unlink_bucket(std::size_t b) {
        const std::size_t p = buckets_[b].prev;
        const std::size_t n = buckets_[b].next;
        if (p != kNil) {
            buckets_[p].next = n;
        } else {
            lowest_bucket_ = n;
        }
        if (n != kNil) {
            buckets_[n].prev = p;
        }
        buckets_[b].next = free_bucket_;
        free_bucket_ = b;
    }

    void put_in_bucket(std::size_t slot, std::size_t b) {
        slots_[slot].bucket = b;
        slots_[slot].prev = kNil;
        slots_[slot].next = buckets_[b].head;
        if (buckets_[b].head != kNil) {
            slots_[buckets_[b].head].prev = slot;
        }
        buckets_[b].head = slot;
    }

    void take_from_bucket(std::size_t slot) {
        const std::size_t b = slots_[slot].bucket;
        if (slots_[slot].prev != kNil) {
            slots_[slots_[slot].prev].next = slots_[slot].next;
        } else {
            buckets_[b].head = slots_[slot].next;
        }
        if (slots_[slot].next != kNil) {
            slots_[slots_[slot].next].prev = slots_[slot].prev;
        }
    }

    void attach_with_count_one(std::size_t slot) {
        if (lowest_bucket_ == kNil || buckets_[lowest_bucket_].count != 1) {
            const std::size_t b = new_bucket(1);
            link_after(b, kNil);
        }
        put_in_bucket(slot, lowest_bucket_);
    }

    void increment(std::size_t slot) {
        const std::size_t b = slots_[slot].bucket;
        const std::uint64_t wanted = buckets_[b].count + 1;
        const std::size_t up = buckets_[b].next;
        const bool alone = buckets_[b].head == slot && slots_[slot].next == kNil;
        if (up != kNil && buckets_[up].count == wanted) {
            take_from_bucket(slot);
            if (alone) {
                unlink_bucket(b);
            }
            put_in_bucket(slot, up);
            return;
        }
        if (alone) {
            buckets_[b].count = wanted;  // order is kept: the next bucket is higher still
            return;
        }
        take_from_bucket(slot);
        const std::size_t fresh = new_bucket(wanted);
        link_after(fresh, b);
        put_in_bucket(slot, fresh);
    }

    std::size_t capacity_;
    std::vector<Slot> slots_;
    std::vector<Bucket> buckets_;
    std::vector<std::size_t> index_;  // hash position -> slot
    std::size_t used_ = 0;
    std::uint64_t evictions_ = 0;
    std::uint64_t total_ = 0;
    std::size_t lowest_bucket_ = kNil;
    std::size_t free_bucket_ = kNil;
};

}  // namespace tcptune
