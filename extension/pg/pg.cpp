#include "pg.hpp"

#include <cstring>
#include <new>

namespace collab::pg {

namespace {

// Filled inside the catch blocks; plain data so that nothing needs destroying when the ERROR is raised.
struct Failure {
    bool failed = false;
    bool interrupt = false;
    int sqlstate = 0;
    ErrorData *pg_error = nullptr;
    char message[2048];
    char hint[512];

    void set(int code, const char *msg, const char *hint_text = nullptr) noexcept {
        failed = true;
        sqlstate = code;
        std::strncpy(message, msg, sizeof(message) - 1);
        message[sizeof(message) - 1] = '\0';
        hint[0] = '\0';
        if (hint_text != nullptr) {
            std::strncpy(hint, hint_text, sizeof(hint) - 1);
            hint[sizeof(hint) - 1] = '\0';
        }
    }
};

template <typename Body> void run_catching(Failure &failure, Body &&body) noexcept {
    try {
        body();
    } catch (const InterruptRequested &) {
        failure.failed = true;
        failure.interrupt = true;
    } catch (const PgError &e) {
        failure.failed = true;
        failure.pg_error = e.data();
    } catch (const CollabError &e) {
        failure.set(sqlstate(e.code()), e.what(), e.hint().empty() ? nullptr : e.hint().c_str());
    } catch (const OtError &e) {
        failure.set(sqlstate(code_for(e.kind())), e.what());
    } catch (const std::bad_alloc &) {
        failure.set(ERRCODE_OUT_OF_MEMORY, "pg_collab: out of memory");
    } catch (const std::exception &e) {
        failure.set(ERRCODE_INTERNAL_ERROR, e.what());
    } catch (...) {
        failure.set(ERRCODE_INTERNAL_ERROR, "pg_collab: unknown C++ exception");
    }
}

void raise(const Failure &failure) {
    if (failure.interrupt) {
        CHECK_FOR_INTERRUPTS();
        // Interrupts were held off: still abandon the statement.
        ereport(ERROR, (errcode(ERRCODE_QUERY_CANCELED), errmsg("pg_collab: statement interrupted")));
    }
    if (failure.pg_error != nullptr) ReThrowError(failure.pg_error);
    if (failure.hint[0] != '\0')
        ereport(ERROR, (errcode(failure.sqlstate), errmsg("%s", failure.message), errhint("%s", failure.hint)));
    ereport(ERROR, (errcode(failure.sqlstate), errmsg("%s", failure.message)));
}

} // namespace

int sqlstate(Code code) noexcept {
    switch (code) {
    case Code::OpBadlyFormed:
        return MAKE_SQLSTATE('P', 'C', '0', '0', '1');
    case Code::OpNotApplicable:
        return MAKE_SQLSTATE('P', 'C', '0', '0', '2');
    case Code::InvalidText:
        return MAKE_SQLSTATE('P', 'C', '0', '0', '3');
    case Code::DataBadlyFormed:
        return MAKE_SQLSTATE('P', 'C', '0', '0', '4');
    case Code::TypeNotRecognized:
        return MAKE_SQLSTATE('P', 'C', '0', '0', '5');
    case Code::InvalidArgument:
        return MAKE_SQLSTATE('P', 'C', '0', '0', '6');
    case Code::Unsupported:
        return MAKE_SQLSTATE('P', 'C', '0', '0', '7');
    case Code::DocumentDoesNotExist:
        return MAKE_SQLSTATE('P', 'C', '0', '1', '0');
    case Code::DocumentAlreadyCreated:
        return MAKE_SQLSTATE('P', 'C', '0', '1', '1');
    case Code::DocumentWasDeleted:
        return MAKE_SQLSTATE('P', 'C', '0', '1', '2');
    case Code::VersionNewerThanDoc:
        return MAKE_SQLSTATE('P', 'C', '0', '1', '3');
    case Code::OpsMissing:
        return MAKE_SQLSTATE('P', 'C', '0', '1', '4');
    case Code::ReadDenied:
        return MAKE_SQLSTATE('P', 'C', '0', '2', '0');
    case Code::WriteDenied:
        return MAKE_SQLSTATE('P', 'C', '0', '2', '1');
    case Code::ClientIdNotYours:
        return MAKE_SQLSTATE('P', 'C', '0', '2', '2');
    case Code::ActorRequired:
        return MAKE_SQLSTATE('P', 'C', '0', '2', '3');
    case Code::LoginTicketInvalid:
        return MAKE_SQLSTATE('P', 'C', '0', '3', '0');
    case Code::RefreshTokenInvalid:
        return MAKE_SQLSTATE('P', 'C', '0', '3', '1');
    case Code::RefreshTokenReused:
        return MAKE_SQLSTATE('P', 'C', '0', '3', '2');
    case Code::DevLoginDisabled:
        return MAKE_SQLSTATE('P', 'C', '0', '3', '3');
    }
    return ERRCODE_INTERNAL_ERROR;
}

Code code_for(ErrorKind kind) noexcept {
    switch (kind) {
    case ErrorKind::OpBadlyFormed:
        return Code::OpBadlyFormed;
    case ErrorKind::OpNotApplicable:
        return Code::OpNotApplicable;
    case ErrorKind::InvalidText:
        return Code::InvalidText;
    case ErrorKind::DataBadlyFormed:
        return Code::DataBadlyFormed;
    case ErrorKind::TypeNotRecognized:
        return Code::TypeNotRecognized;
    case ErrorKind::InvalidArgument:
        return Code::InvalidArgument;
    case ErrorKind::Unsupported:
        return Code::Unsupported;
    }
    return Code::InvalidArgument;
}

Datum invoke(Datum (*impl)(FunctionCallInfo), FunctionCallInfo fcinfo) {
    Failure failure;
    Datum result = 0;
    run_catching(failure, [&] { result = impl(fcinfo); });
    if (failure.failed) raise(failure);
    return result;
}

void invoke_void(void (*impl)(void *), void *arg) {
    Failure failure;
    run_catching(failure, [&] { impl(arg); });
    if (failure.failed) raise(failure);
}

void require_arg(FunctionCallInfo fcinfo, int n, const char *name) {
    if (PG_ARGISNULL(n)) throw CollabError(Code::InvalidArgument, std::string(name) + " must not be NULL");
}

std::string text_arg(FunctionCallInfo fcinfo, int n) {
    const char *data = nullptr;
    int len = 0;
    pg_guard([&] {
        text *t = PG_GETARG_TEXT_PP(n);
        data = VARDATA_ANY(t);
        len = static_cast<int>(VARSIZE_ANY_EXHDR(t));
    });
    return std::string(data, static_cast<std::size_t>(len));
}

Datum return_row(FunctionCallInfo fcinfo, Datum *values, bool *nulls) {
    pg_guard([&] {
        InitMaterializedSRF(fcinfo, 0);
        ReturnSetInfo *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
        tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
    });
    return static_cast<Datum>(0);
}

std::string jsonb_arg_text(FunctionCallInfo fcinfo, int n) {
    char *s = nullptr;
    pg_guard([&] {
        Jsonb *jb = PG_GETARG_JSONB_P(n);
        s = JsonbToCString(nullptr, &jb->root, static_cast<int>(VARSIZE(jb)));
    });
    return std::string(s);
}

Datum jsonb_from_text(const std::string &json) {
    Datum d = 0;
    const char *cstr = json.c_str();
    pg_guard([&] { d = DirectFunctionCall1(jsonb_in, CStringGetDatum(cstr)); });
    return d;
}

Datum text_datum(const std::string &s) {
    Datum d = 0;
    const char *data = s.data();
    const int len = static_cast<int>(s.size());
    pg_guard([&] { d = PointerGetDatum(cstring_to_text_with_len(data, len)); });
    return d;
}

} // namespace collab::pg
