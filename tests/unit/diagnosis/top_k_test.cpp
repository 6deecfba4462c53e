#include "tcptune/diagnosis/top_k.hpp"

#include <cstdint>
#include <map>
#include <random>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace tcptune {
namespace {

using TopK = SpaceSavingTopK<std::uint32_t>;

std::map<std::uint32_t, std::uint64_t> true_counts(const std::vector<std::uint32_t>& stream) {
    std::map<std::uint32_t, std::uint64_t> counts;
    for (auto k : stream) {
        ++counts[k];
    }
    return counts;
}

// The (key, count) of each entry, in order: one comparison that prints the whole table.
using KeyCounts = std::vector<std::pair<std::uint32_t, std::uint64_t>>;
template <typename Entries>
KeyCounts keys_and_counts(const Entries& entries) {
    KeyCounts out;
    for (const auto& e : entries) {
        out.emplace_back(e.key, e.count);
    }
    return out;
}

// A Zipf-like stream: a few heavy keys and a long tail of rare ones.
std::vector<std::uint32_t> skewed_stream(std::size_t n, std::uint32_t distinct, unsigned seed) {
    std::mt19937 rng(seed);
    std::vector<double> weights(distinct);
    for (std::uint32_t i = 0; i < distinct; ++i) {
        weights[i] = 1.0 / (static_cast<double>(i) + 1.0);
    }
    std::discrete_distribution<std::uint32_t> pick(weights.begin(), weights.end());
    std::vector<std::uint32_t> stream(n);
    for (auto& k : stream) {
        k = pick(rng) * 7919U + 3U;  // spread keys so hashing is exercised
    }
    return stream;
}

TEST(SpaceSavingTopK, CountsAreExactWhileDistinctKeysFitTheCapacity) {
    const auto stream = skewed_stream(20000, 64, 1);
    TopK topk(64);
    for (auto k : stream) {
        topk.add(k);
    }
    const auto truth = true_counts(stream);
    EXPECT_TRUE(topk.exact());
    EXPECT_EQ(topk.size(), truth.size());
    EXPECT_EQ(topk.total(), stream.size());
    const auto all = topk.top(1000);
    ASSERT_EQ(all.size(), truth.size());
    for (const auto& c : all) {
        EXPECT_EQ(c.count, truth.at(c.key)) << c.key;
        EXPECT_EQ(c.error, 0U);
    }
}

TEST(SpaceSavingTopK, TopIsOrderedLargestFirstAndCutToN) {
    TopK topk(16);
    for (int i = 0; i < 5; ++i) {
        topk.add(1);
    }
    for (int i = 0; i < 9; ++i) {
        topk.add(2);
    }
    topk.add(3);
    for (int i = 0; i < 2; ++i) {
        topk.add(4);
    }
    EXPECT_EQ(keys_and_counts(topk.top(3)), (KeyCounts{{2, 9}, {1, 5}, {4, 2}}));
    EXPECT_TRUE(topk.top(0).empty());
}

TEST(SpaceSavingTopK, BoundsHoldAndHeavyHittersSurviveWhenTheTableOverflows) {
    for (unsigned seed : {2U, 3U, 4U}) {
        const auto stream = skewed_stream(50000, 5000, seed);
        const std::size_t capacity = 100;
        TopK topk(capacity);
        for (auto k : stream) {
            topk.add(k);
        }
        const auto truth = true_counts(stream);
        EXPECT_FALSE(topk.exact());
        EXPECT_EQ(topk.size(), capacity);

        const auto all = topk.top(capacity);
        std::uint64_t sum = 0;
        for (const auto& c : all) {
            sum += c.count;
            const auto it = truth.find(c.key);
            const std::uint64_t real = it == truth.end() ? 0 : it->second;
            EXPECT_GE(c.count, real) << "count must over-estimate, key " << c.key;
            EXPECT_LE(c.count - c.error, real) << "count - error must under-estimate";
        }
        // Space-saving invariant: the counters always add up to the stream length.
        EXPECT_EQ(sum, stream.size());
        // Every key above N / K is guaranteed to be tracked.
        for (const auto& [key, real] : truth) {
            if (real > stream.size() / capacity) {
                bool found = false;
                for (const auto& c : all) {
                    found = found || c.key == key;
                }
                EXPECT_TRUE(found) << "heavy key " << key << " with " << real << " lost";
            }
        }
        // The heaviest key is first and its count is exact enough to name it.
        ASSERT_FALSE(all.empty());
        EXPECT_EQ(all.front().key, 3U);
    }
}

TEST(SpaceSavingTopK, EveryKeyDistinctStillKeepsTheInvariant) {
    TopK topk(8);
    for (std::uint32_t k = 0; k < 1000; ++k) {
        topk.add(k);
    }
    EXPECT_FALSE(topk.exact());
    std::uint64_t sum = 0;
    for (const auto& c : topk.top(8)) {
        sum += c.count;
        EXPECT_LE(c.count - c.error, 1U);
    }
    EXPECT_EQ(sum, 1000U);
}

TEST(SpaceSavingTopK, ClearForgetsEverythingAndTheTableIsReusable) {
    TopK topk(4);
    for (std::uint32_t k = 0; k < 100; ++k) {
        topk.add(k % 10);
    }
    EXPECT_FALSE(topk.exact());
    topk.clear();
    EXPECT_TRUE(topk.exact());
    EXPECT_EQ(topk.size(), 0U);
    EXPECT_EQ(topk.total(), 0U);
    EXPECT_TRUE(topk.top(4).empty());
    topk.add(7);
    topk.add(7);
    topk.add(9);
    EXPECT_EQ(keys_and_counts(topk.top(4)), (KeyCounts{{7, 2}, {9, 1}}));
}

// Keys that all hash to the same home position stress the probe chains and the
// backward-shift deletion used on eviction.
struct CollidingHash {
    std::size_t operator()(std::uint32_t k) const noexcept { return k % 3; }
};

TEST(SpaceSavingTopK, CollidingHashesStayConsistentThroughEvictions) {
    SpaceSavingTopK<std::uint32_t, CollidingHash> topk(16);
    const auto stream = skewed_stream(20000, 300, 5);
    for (auto k : stream) {
        topk.add(k);
    }
    const auto truth = true_counts(stream);
    std::uint64_t sum = 0;
    for (const auto& c : topk.top(16)) {
        sum += c.count;
        EXPECT_GE(c.count, truth.at(c.key));
        EXPECT_LE(c.count - c.error, truth.at(c.key));
    }
    EXPECT_EQ(sum, stream.size());
    // A key seen after all this is found again, not duplicated.
    topk.add(3);
    topk.add(3);
    std::size_t copies = 0;
    for (const auto& c : topk.top(16)) {
        copies += c.key == 3U ? 1U : 0U;
    }
    EXPECT_EQ(copies, 1U);
}

}  // namespace
}  // namespace tcptune
