// pg_collab OT core: the type registry and the type-erased interface the extension uses. No PostgreSQL headers.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "errors.hpp"
#include "json.hpp"

namespace collab {

enum class Side { Left, Right };

// Parses "left" / "right"; throws OtError(InvalidArgument) otherwise.
Side parse_side(std::string_view side);

// A live document of some type, mutated in place by apply(). apply() is atomic: when it throws, the snapshot is
// unchanged. Its cost is proportional to the op, not to the document.
class Snapshot {
  public:
    virtual ~Snapshot() = default;
    virtual void apply(const json_t *op) = 0;
    virtual JsonPtr to_json() const = 0;
    // Approximate memory held, for cache accounting.
    virtual std::size_t memory_bytes() const = 0;
    // Type-specific size: code points for text-unicode.
    virtual std::uint64_t length() const = 0;
    virtual std::unique_ptr<Snapshot> clone() const = 0;
};

class OtType {
  public:
    virtual ~OtType() = default;
    virtual std::string_view name() const = 0;
    virtual std::string_view uri() const = 0;

    // create(data): data may be nullptr (JSON null or absent) for the type's default.
    virtual std::unique_ptr<Snapshot> create(const json_t *data) const = 0;
    // Throws OtError(OpBadlyFormed) unless op is a valid op of this type (strict: as the npm type's checkOp, plus
    // integer counts and valid text).
    virtual void check_op(const json_t *op) const = 0;
    virtual JsonPtr normalize(const json_t *op) const = 0;
    virtual JsonPtr transform(const json_t *op, const json_t *other, Side side) const = 0;
    // transform() over each of others in turn (never over their composition). Types override it to parse op once.
    virtual JsonPtr transform_over(const json_t *op, const std::vector<const json_t *> &others, Side side) const;
    virtual JsonPtr compose(const json_t *a, const json_t *b) const = 0;
    virtual JsonPtr invert(const json_t *op) const = 0;
    virtual std::int64_t transform_position(std::int64_t pos, const json_t *op) const = 0;
    virtual bool is_noop(const json_t *op) const = 0;

    // Pure apply: data -> new data. Strict like Snapshot::apply.
    JsonPtr apply(const json_t *data, const json_t *op) const;
};

// Looks a type up by name ("text-unicode") or URI ("http://sharejs.org/types/text-unicode"). nullptr if unknown.
const OtType *find_type(std::string_view name_or_uri) noexcept;
// As find_type, but throws OtError(TypeNotRecognized) naming the known types.
const OtType &require_type(std::string_view name_or_uri);

} // namespace collab
