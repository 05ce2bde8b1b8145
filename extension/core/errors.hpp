// pg_collab OT core: error model. No PostgreSQL headers may be included from extension/core.
#pragma once

#include <stdexcept>
#include <string>

namespace collab {

// Every failure the core reports has one of these kinds. The extension maps each kind to its own SQLSTATE and the
// bridge maps it to a ShareDB error code (see docs/errors.md and collab.error_codes()).
enum class ErrorKind {
    OpBadlyFormed,     // the op is not a valid op of its type (shape, counts, empty components, trailing skip)
    OpNotApplicable,   // a valid op that does not fit the document (skip or delete past the end, text mismatch)
    InvalidText,       // text that is not valid UTF-8 or contains lone surrogates
    DataBadlyFormed,   // snapshot data of the wrong shape for its type (e.g. text-unicode data that is no string)
    TypeNotRecognized, // an unknown OT type name or URI
    InvalidArgument,   // an argument outside its domain (e.g. side not 'left'/'right')
    Unsupported,       // the type does not support the requested operation
};

class OtError : public std::runtime_error {
  public:
    OtError(ErrorKind kind, const std::string &message) : std::runtime_error(message), kind_(kind) {}
    ErrorKind kind() const noexcept { return kind_; }

  private:
    ErrorKind kind_;
};

const char *error_kind_name(ErrorKind kind) noexcept;

} // namespace collab
