// pg_collab PostgreSQL glue: the one place that includes the server headers, plus the C++/PostgreSQL error bridge.
//
// Rules (docs/architecture.md, "C++ inside the backend"):
//  - Every SQL-callable function, callback and _PG_init is an extern "C" trampoline (COLLAB_FUNCTION / invoke()) that
//    catches every C++ exception and raises the PostgreSQL ERROR only after the try statement has ended.
//  - Every PostgreSQL call that can ERROR while C++ objects are alive runs inside pg_guard(), which turns the ERROR
//    into a PgError exception; invoke() re-raises it unchanged at the boundary. Lambdas given to pg_guard() make
//    PostgreSQL calls only and never throw.
#pragma once

extern "C" {
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/async.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

// utils/builtins.h pulls in utils/fmgrprotos.h, whose SQL function json_object() clashes with jansson's; we declare
// the two functions we need from it instead.
text *cstring_to_text_with_len(const char *s, int len);
Datum jsonb_in(PG_FUNCTION_ARGS);
}

// port.h macros that break the C++ standard library.
#undef snprintf
#undef vsnprintf
#undef sprintf
#undef vsprintf
#undef fprintf
#undef vfprintf
#undef printf
#undef vprintf
#undef bind
#undef unlink
#undef gettext
#undef dgettext
#undef ngettext
#undef dngettext

#include <exception>
#include <string>

#include "errors.hpp"

namespace collab::pg {

// Our SQLSTATEs: class PC ("pg_collab"). The table in collab.error_codes() and docs/errors.md lists them with their
// ShareDB error codes.
enum class Code {
    OpBadlyFormed,          // PC001
    OpNotApplicable,        // PC002
    InvalidText,            // PC003
    DataBadlyFormed,        // PC004
    TypeNotRecognized,      // PC005
    InvalidArgument,        // PC006
    Unsupported,            // PC007
    DocumentDoesNotExist,   // PC010
    DocumentAlreadyCreated, // PC011
    DocumentWasDeleted,     // PC012
    VersionNewerThanDoc,    // PC013
    OpsMissing,             // PC014
    ReadDenied,             // PC020
    WriteDenied,            // PC021
    ClientIdNotYours,       // PC022
    ActorRequired,          // PC023
    LoginTicketInvalid,     // PC030
    RefreshTokenInvalid,    // PC031
    RefreshTokenReused,     // PC032
    DevLoginDisabled,       // PC033
};
int sqlstate(Code code) noexcept;
Code code_for(ErrorKind kind) noexcept;

// A pg_collab error raised by the glue (document-level rules), with an optional hint.
class CollabError : public std::runtime_error {
  public:
    CollabError(Code code, const std::string &message, std::string hint = {})
        : std::runtime_error(message), code_(code), hint_(std::move(hint)) {}
    Code code() const noexcept { return code_; }
    const std::string &hint() const noexcept { return hint_; }

  private:
    Code code_;
    std::string hint_;
};

// A PostgreSQL ERROR caught by pg_guard(), carried as a C++ exception to the trampoline, which re-raises it.
class PgError : public std::exception {
  public:
    explicit PgError(ErrorData *data) : data_(data) {}
    ErrorData *data() const noexcept { return data_; }
    const char *what() const noexcept override { return data_ && data_->message ? data_->message : "PostgreSQL error"; }

  private:
    ErrorData *data_;
};

// Thrown from C++ loops when a cancel or termination is pending; invoke() then lets PostgreSQL process it with
// CHECK_FOR_INTERRUPTS() once every C++ frame has unwound.
class InterruptRequested : public std::exception {
  public:
    const char *what() const noexcept override { return "canceling statement due to a pending interrupt"; }
};
inline void check_interrupts() {
    if (INTERRUPTS_PENDING_CONDITION()) throw InterruptRequested();
}

template <typename F> inline void pg_guard(F &&f) {
    MemoryContext volatile ctx = CurrentMemoryContext;
    ErrorData *volatile edata = nullptr;
    PG_TRY();
    { f(); }
    PG_CATCH();
    {
        MemoryContextSwitchTo(ctx);
        edata = CopyErrorData();
        FlushErrorState();
    }
    PG_END_TRY();
    if (edata != nullptr) throw PgError(edata);
}

// Runs impl inside try/catch; raises the ERROR after the try statement, when no C++ object is alive.
Datum invoke(Datum (*impl)(FunctionCallInfo), FunctionCallInfo fcinfo);
// For callbacks that return nothing: errors are raised the same way.
void invoke_void(void (*impl)(void *), void *arg);

// Throws InvalidArgument when argument n is NULL.
void require_arg(FunctionCallInfo fcinfo, int n, const char *name);
// Argument n as a std::string (text).
std::string text_arg(FunctionCallInfo fcinfo, int n);
// Argument n (jsonb) as JSON text.
std::string jsonb_arg_text(FunctionCallInfo fcinfo, int n);
// Returns one row from a set-returning function declared RETURNS TABLE(...).
Datum return_row(FunctionCallInfo fcinfo, Datum *values, bool *nulls);
// JSON text -> jsonb Datum in the current memory context.
Datum jsonb_from_text(const std::string &json);
Datum text_datum(const std::string &s);

} // namespace collab::pg

#define COLLAB_FUNCTION(name)                                                                                          \
    extern "C" {                                                                                                       \
    PG_FUNCTION_INFO_V1(name);                                                                                         \
    }                                                                                                                  \
    static Datum name##_impl(FunctionCallInfo fcinfo);                                                                 \
    extern "C" Datum name(PG_FUNCTION_ARGS) { return collab::pg::invoke(name##_impl, fcinfo); }                        \
    static Datum name##_impl(FunctionCallInfo fcinfo)
