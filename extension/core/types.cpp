#include "types.hpp"

#include <string>

#include "json0.hpp"
#include "text_unicode.hpp"

namespace collab {

Side parse_side(std::string_view side) {
    if (side == "left") return Side::Left;
    if (side == "right") return Side::Right;
    throw OtError(ErrorKind::InvalidArgument, "side must be 'left' or 'right', not '" + std::string(side) + "'");
}

JsonPtr OtType::transform_over(const json_t *op, const std::vector<const json_t *> &others, Side side) const {
    JsonPtr result = json_ref(const_cast<json_t *>(op));
    for (const json_t *other : others)
        result = transform(result.get(), other, side);
    return result;
}

JsonPtr OtType::apply(const json_t *data, const json_t *op) const {
    std::unique_ptr<Snapshot> snapshot = create(data);
    snapshot->apply(op);
    return snapshot->to_json();
}

namespace text {
namespace {

class TextSnapshot final : public Snapshot {
  public:
    explicit TextSnapshot(Rope rope) : rope_(std::move(rope)) {}
    void apply(const json_t *op) override { text::apply(rope_, parse_op(op)); }
    JsonPtr to_json() const override {
        const std::string s = rope_.to_string();
        return json_own(json_stringn(s.data(), s.size()));
    }
    std::size_t memory_bytes() const override {
        return sizeof(*this) + rope_.chunk_count() * (Rope::kMaxChunkBytes + 48);
    }
    std::uint64_t length() const override { return rope_.length(); }
    std::unique_ptr<Snapshot> clone() const override { return std::make_unique<TextSnapshot>(rope_); }

  private:
    Rope rope_;
};

class TextUnicodeType final : public OtType {
  public:
    std::string_view name() const override { return "text-unicode"; }
    std::string_view uri() const override { return "http://sharejs.org/types/text-unicode"; }

    std::unique_ptr<Snapshot> create(const json_t *data) const override {
        if (data == nullptr || json_is_null(data)) return std::make_unique<TextSnapshot>(Rope());
        if (!json_is_string(data))
            throw OtError(ErrorKind::DataBadlyFormed,
                          std::string("text-unicode data must be a JSON string, not ") + json_type_name(data));
        std::string_view s(json_string_value(data), json_string_length(data));
        validate_utf8(s, "text-unicode data");
        return std::make_unique<TextSnapshot>(Rope(s));
    }
    void check_op(const json_t *op) const override { (void)parse_op(op); }
    JsonPtr normalize(const json_t *op) const override { return to_json(text::normalize(parse_op_lenient(op))); }
    JsonPtr transform(const json_t *op, const json_t *other, Side side) const override {
        return to_json(text::transform(parse_op(op), parse_op(other), side));
    }
    JsonPtr transform_over(const json_t *op, const std::vector<const json_t *> &others, Side side) const override {
        Op result = parse_op(op);
        for (const json_t *other : others)
            result = text::transform(result, parse_op(other), side);
        return to_json(result);
    }
    JsonPtr compose(const json_t *a, const json_t *b) const override {
        return to_json(text::compose(parse_op(a), parse_op(b)));
    }
    JsonPtr invert(const json_t *op) const override { return to_json(text::invert(parse_op(op))); }
    std::int64_t transform_position(std::int64_t pos, const json_t *op) const override {
        return text::transform_position(pos, parse_op(op));
    }
    bool is_noop(const json_t *op) const override { return parse_op(op).empty(); }
};

} // namespace

const OtType &type() {
    static const TextUnicodeType instance;
    return instance;
}

} // namespace text

const OtType *find_type(std::string_view name_or_uri) noexcept {
    for (const OtType *t : {&text::type(), &json0::type()})
        if (name_or_uri == t->name() || name_or_uri == t->uri()) return t;
    return nullptr;
}

const OtType &require_type(std::string_view name_or_uri) {
    if (const OtType *t = find_type(name_or_uri)) return *t;
    throw OtError(ErrorKind::TypeNotRecognized,
                  "unknown OT type '" + std::string(name_or_uri) +
                      "': use text-unicode (http://sharejs.org/types/text-unicode) or json0 "
                      "(http://sharejs.org/types/JSONv0)");
}

} // namespace collab
