// A stand-in for server/db.cpp (collab::bridge::Database) for fuzz_bridge_messages: no PostgreSQL, no threads.
// query() queues the statement; the fuzzer answers the queue (fake_db_answer) and then calls drain(), which runs the
// callbacks on the calling thread as the real drain() does on the loop thread.
#include "fake_db.hpp"

#include <utility>

namespace collab::bridge {

int DbResult::column(std::string_view name) const {
    for (std::size_t i = 0; i < columns.size(); i++)
        if (columns[i] == name) return static_cast<int>(i);
    return -1;
}

namespace {
struct FakeState {
    std::deque<FakeQuery> queued;
    std::deque<std::pair<DbCallback, DbResult>> answered;
    std::function<void(const std::string &, const std::string &)> notify;
    std::function<void(bool)> feed;
};
// The fuzzer has one Database at a time; fake_db_answer() reaches its queue through this (impl_ is private).
FakeState *g_state = nullptr;
} // namespace

struct Database::Impl : FakeState {};

Database::Database(DbConfig, std::function<void()>) : impl_(std::make_unique<Impl>()) { g_state = impl_.get(); }
Database::~Database() { g_state = nullptr; }
void Database::on_notification(std::function<void(const std::string &, const std::string &)> handler) {
    impl_->notify = std::move(handler);
}
void Database::on_feed_state(std::function<void(bool)> handler) { impl_->feed = std::move(handler); }
void Database::start() {}
void Database::query(std::string sql, DbParams params, DbCallback callback, int) {
    impl_->queued.push_back({std::move(sql), std::move(params), std::move(callback)});
}
void Database::drain() {
    while (!impl_->answered.empty()) {
        auto [cb, r] = std::move(impl_->answered.front());
        impl_->answered.pop_front();
        cb(std::move(r));
    }
}
bool Database::pool_ready() const { return true; }
bool Database::feed_ready() const { return true; }
std::size_t Database::queued() const { return impl_->queued.size(); }
std::size_t Database::in_flight() const { return impl_->queued.size() + impl_->answered.size(); }
void Database::stop(int) {}

std::size_t fake_db_answer(Database &, const std::function<DbResult(const FakeQuery &)> &answer) {
    // The real database layer hands over results from its own threads; here the pending queries, in order.
    FakeState *impl = g_state;
    std::size_t n = 0;
    while (!impl->queued.empty()) {
        FakeQuery q = std::move(impl->queued.front());
        impl->queued.pop_front();
        impl->answered.emplace_back(std::move(q.callback), answer(q));
        n++;
    }
    return n;
}

} // namespace collab::bridge
