#pragma once

#include <string>
#include <utility>

#include <tl/expected.hpp>

namespace tcptune {

// Broad classes of failure. Adapters map them to exit codes (CLI) and
// net.tcptune.Error.* names (D-Bus); the message carries the detail.
enum class ErrorCode {
    kIo,                // a file or socket operation failed
    kNetlink,           // the kernel answered a dump with an error or garbage
    kParse,             // bytes or text did not have the expected shape
    kInvalidProfile,    // a profile failed validation
    kNotFound,          // a named thing (profile, key, file) does not exist
    kRefused,           // the safety gate said no
    kPermissionDenied,  // the caller may not do this
    kCorruptJournal,    // journal exists but cannot be trusted
    kInternal,          // a bug: should never happen
};

struct Error {
    ErrorCode code = ErrorCode::kInternal;
    std::string message;
};

// Recoverable errors are values; exceptions only at the top of a program.
template <typename T>
using Result = tl::expected<T, Error>;

inline tl::unexpected<Error> make_error(ErrorCode code, std::string message) {
    return tl::unexpected<Error>(Error{code, std::move(message)});
}

// "Permission denied (EACCES, errno 13)": the text and the symbolic name of an
// errno value, for messages an operator can search for.
std::string errno_text(int err);

}  // namespace tcptune

// Propagating a failure without writing it out (ccache's util/expected.hpp):
//   TRY(journal.replace(next));                    // a failed Result is returned as is
//   TRY_ASSIGN(snapshot.netstat, read_netstat(dir));  // else its value is assigned
// The enclosing function returns a tl::expected with the same error type.
#define TRY(expr_)                                                 \
    do {                                                           \
        auto&& try_result_ = (expr_);                              \
        if (!try_result_) {                                        \
            return tl::unexpected(std::move(try_result_).error()); \
        }                                                          \
    } while (false)

// var_ is not parenthesized: clang-tidy's use-after-move does not see
// `(x) = ...` as re-initializing x, and TRY_ASSIGN(x, f(std::move(x))) is fine.
#define TRY_ASSIGN(var_, expr_)                                                  \
    do {                                                                         \
        auto&& try_result_ = (expr_);                                            \
        if (!try_result_) {                                                      \
            return tl::unexpected(std::move(try_result_).error());               \
        }                                                                        \
        var_ = std::move(*try_result_); /* NOLINT(bugprone-macro-parentheses) */ \
    } while (false)
