// Unit tests of the json0 type (extension/core/json0.*): every component, apply errors and atomicity, and the
// assertions of ot-json0 1.1.0's own test suite (test/json0.coffee: transform, compose and apply cases).
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

#include "json0.hpp"
#include "test_support.hpp"
#include "types.hpp"

namespace collab {
namespace {

using testing::J;
using testing::ThrowsKind;

std::string D(const JsonPtr &j) { return json_dump(j.get()); }
const OtType &T() { return json0::type(); }

JsonPtr Apply(std::string_view doc, std::string_view op) { return T().apply(J(doc).get(), J(op).get()); }
void ExpectJson(const JsonPtr &got, std::string_view want) {
    JsonPtr w = J(want);
    EXPECT_TRUE(json0::js_equal(got.get(), w.get())) << "got " << D(got) << ", want " << want;
}

// ---------------------------------------------------------------------------------------------------------------
// The assertions of ot-json0's test/json0.coffee (generated from it; every row passes against ot-json0 1.1.0).

struct Case {
    const char *fn, *expected, *a, *b, *side;
};
const Case kReferenceCases[] = {
    {"compose", R"([{"p":["foo"],"od":1,"oi":2}])", R"([{"p":["foo"],"od":1}])", R"([{"p":["foo"],"oi":2}])", ""},
    {"compose", R"([{"p":["foo"],"od":1},{"p":["bar"],"oi":2}])", R"([{"p":["foo"],"od":1}])",
     R"([{"p":["bar"],"oi":2}])", ""},
    {"compose", R"([{"p":["foo"],"od":1,"oi":2}])", R"([{"p":["foo"],"od":1,"oi":3}])",
     R"([{"p":["foo"],"od":3,"oi":2}])", ""},
    {"apply", R"(3)", R"(1)", R"([{"p":[],"na":2}])", ""},
    {"apply", R"([3])", R"([1])", R"([{"p":[0],"na":2}])", ""},
    {"compose", R"([{"p":["a","b"],"na":3}])", R"([{"p":["a","b"],"na":1}])", R"([{"p":["a","b"],"na":2}])", ""},
    {"compose", R"([{"p":["a"],"na":1},{"p":["b"],"na":2}])", R"([{"p":["a"],"na":1}])", R"([{"p":["b"],"na":2}])", ""},
    {"apply", R"("abc")", R"("a")", R"([{"p":[1],"si":"bc"}])", ""},
    {"apply", R"("bc")", R"("abc")", R"([{"p":[0],"sd":"a"}])", ""},
    {"apply", R"({"x":"abc"})", R"({"x":"a"})", R"([{"p":["x",1],"si":"bc"}])", ""},
    {"transform", R"([{"p":[0],"sd":"a"},{"p":[1],"sd":"b"}])", R"([{"p":[0],"sd":"ab"}])", R"([{"p":[1],"si":"x"}])",
     "left"},
    {"transform", R"([])", R"([{"p":["k",5],"sd":"a"}])", R"([{"p":["k",5],"sd":"a"}])", "left"},
    {"transform", R"([])", R"([{"p":["k",5],"si":""}])", R"([{"p":["k",3],"si":"a"}])", "left"},
    {"apply", R"("abc")", R"("a")", R"([{"p":[],"t":"text0","o":[{"p":1,"i":"bc"}]}])", ""},
    {"apply", R"("bc")", R"("abc")", R"([{"p":[],"t":"text0","o":[{"p":0,"d":"a"}]}])", ""},
    {"apply", R"({"x":"abc"})", R"({"x":"a"})", R"([{"p":["x"],"t":"text0","o":[{"p":1,"i":"bc"}]}])", ""},
    {"transform", R"([{"p":[],"t":"text0","o":[{"p":0,"d":"a"},{"p":1,"d":"b"}]}])",
     R"([{"p":[],"t":"text0","o":[{"p":0,"d":"ab"}]}])", R"([{"p":[],"t":"text0","o":[{"p":1,"i":"x"}]}])", "left"},
    {"transform", R"([])", R"([{"p":["k"],"t":"text0","o":[{"p":5,"d":"a"}]}])",
     R"([{"p":["k"],"t":"text0","o":[{"p":5,"d":"a"}]}])", "left"},
    {"transform", R"([])", R"([{"p":["k"],"t":"text0","o":[{"p":5,"i":""}]}])",
     R"([{"p":["k"],"t":"text0","o":[{"p":3,"i":"a"}]}])", "left"},
    {"apply", R"(["a","b","c"])", R"(["b","c"])", R"([{"p":[0],"li":"a"}])", ""},
    {"apply", R"(["a","b","c"])", R"(["a","c"])", R"([{"p":[1],"li":"b"}])", ""},
    {"apply", R"(["a","b","c"])", R"(["a","b"])", R"([{"p":[2],"li":"c"}])", ""},
    {"apply", R"(["b","c"])", R"(["a","b","c"])", R"([{"p":[0],"ld":"a"}])", ""},
    {"apply", R"(["a","c"])", R"(["a","b","c"])", R"([{"p":[1],"ld":"b"}])", ""},
    {"apply", R"(["a","b"])", R"(["a","b","c"])", R"([{"p":[2],"ld":"c"}])", ""},
    {"apply", R"(["a","y","b"])", R"(["a","x","b"])", R"([{"p":[1],"ld":"x","li":"y"}])", ""},
    {"apply", R"(["a","b","c"])", R"(["b","a","c"])", R"([{"p":[1],"lm":0}])", ""},
    {"apply", R"(["a","b","c"])", R"(["b","a","c"])", R"([{"p":[0],"lm":1}])", ""},
    {"transform", R"([{"p":[2,200],"si":"hi"}])", R"([{"p":[1,200],"si":"hi"}])", R"([{"p":[0],"li":"x"}])", "left"},
    {"transform", R"([{"p":[1,201],"si":"hi"}])", R"([{"p":[0,201],"si":"hi"}])", R"([{"p":[0],"li":"x"}])", "right"},
    {"transform", R"([{"p":[0,202],"si":"hi"}])", R"([{"p":[0,202],"si":"hi"}])", R"([{"p":[1],"li":"x"}])", "left"},
    {"transform", R"([{"p":[2],"t":"text0","o":[{"p":200,"i":"hi"}]}])",
     R"([{"p":[1],"t":"text0","o":[{"p":200,"i":"hi"}]}])", R"([{"p":[0],"li":"x"}])", "left"},
    {"transform", R"([{"p":[1],"t":"text0","o":[{"p":201,"i":"hi"}]}])",
     R"([{"p":[0],"t":"text0","o":[{"p":201,"i":"hi"}]}])", R"([{"p":[0],"li":"x"}])", "right"},
    {"transform", R"([{"p":[0],"t":"text0","o":[{"p":202,"i":"hi"}]}])",
     R"([{"p":[0],"t":"text0","o":[{"p":202,"i":"hi"}]}])", R"([{"p":[1],"li":"x"}])", "left"},
    {"transform", R"([{"p":[0,203],"si":"hi"}])", R"([{"p":[1,203],"si":"hi"}])", R"([{"p":[0],"ld":"x"}])", "left"},
    {"transform", R"([{"p":[0,204],"si":"hi"}])", R"([{"p":[0,204],"si":"hi"}])", R"([{"p":[1],"ld":"x"}])", "left"},
    {"transform", R"([{"p":["x",3],"si":"hi"}])", R"([{"p":["x",3],"si":"hi"}])", R"([{"p":["x",0,"x"],"li":0}])",
     "left"},
    {"transform", R"([{"p":["x",3,"x"],"si":"hi"}])", R"([{"p":["x",3,"x"],"si":"hi"}])", R"([{"p":["x",5],"li":0}])",
     "left"},
    {"transform", R"([{"p":["x",4,"x"],"si":"hi"}])", R"([{"p":["x",3,"x"],"si":"hi"}])", R"([{"p":["x",0],"li":0}])",
     "left"},
    {"transform", R"([{"p":[0],"t":"text0","o":[{"p":203,"i":"hi"}]}])",
     R"([{"p":[1],"t":"text0","o":[{"p":203,"i":"hi"}]}])", R"([{"p":[0],"ld":"x"}])", "left"},
    {"transform", R"([{"p":[0],"t":"text0","o":[{"p":204,"i":"hi"}]}])",
     R"([{"p":[0],"t":"text0","o":[{"p":204,"i":"hi"}]}])", R"([{"p":[1],"ld":"x"}])", "left"},
    {"transform", R"([{"p":["x"],"t":"text0","o":[{"p":3,"i":"hi"}]}])",
     R"([{"p":["x"],"t":"text0","o":[{"p":3,"i":"hi"}]}])", R"([{"p":["x",0,"x"],"li":0}])", "left"},
    {"transform", R"([{"p":[1],"ld":2}])", R"([{"p":[0],"ld":2}])", R"([{"p":[0],"li":1}])", "left"},
    {"transform", R"([{"p":[1],"ld":2}])", R"([{"p":[0],"ld":2}])", R"([{"p":[0],"li":1}])", "right"},
    {"transform", R"([])", R"([{"p":[1,0],"si":"hi"}])", R"([{"p":[1],"ld":"x"}])", "left"},
    {"transform", R"([])", R"([{"p":[1],"t":"text0","o":[{"p":0,"i":"hi"}]}])", R"([{"p":[1],"ld":"x"}])", "left"},
    {"transform", R"([{"p":[0],"li":"x"}])", R"([{"p":[0],"li":"x"}])", R"([{"p":[0],"ld":"y"}])", "left"},
    {"transform", R"([])", R"([{"p":[0],"na":-3}])", R"([{"p":[0],"ld":48}])", "left"},
    {"transform", R"([])", R"([{"p":[1,0],"si":"hi"}])", R"([{"p":[1],"ld":"x","li":"y"}])", "left"},
    {"transform", R"([])", R"([{"p":[1],"t":"text0","o":[{"p":0,"i":"hi"}]}])", R"([{"p":[1],"ld":"x","li":"y"}])",
     "left"},
    {"transform", R"([{"p":[0],"li":"hi"}])", R"([{"p":[0],"li":"hi"}])", R"([{"p":[0],"ld":"x","li":"y"}])", "left"},
    {"transform", R"([{"p":[1],"ld":"abc"}])", R"([{"p":[1],"ld":"a"}])", R"([{"p":[1,1],"si":"bc"}])", "left"},
    {"transform", R"([{"p":[1],"ld":"abc"}])", R"([{"p":[1],"ld":"a"}])",
     R"([{"p":[1],"t":"text0","o":[{"p":1,"i":"bc"}]}])", "left"},
    {"transform", R"([{"p":[1],"li":"a"}])", R"([{"p":[1],"li":"a"}])", R"([{"p":[1],"li":"b"}])", "left"},
    {"transform", R"([{"p":[2],"li":"b"}])", R"([{"p":[1],"li":"b"}])", R"([{"p":[1],"li":"a"}])", "right"},
    {"transform", R"([])", R"([{"p":[1],"ld":"x"}])", R"([{"p":[1],"ld":"x"}])", "left"},
    {"transform", R"([])", R"([{"p":[1],"ld":"x"}])", R"([{"p":[1],"ld":"x"}])", "right"},
    {"compose", R"([])", R"([{"p":[1],"li":"abc"}])", R"([{"p":[1],"ld":"abc"}])", ""},
    {"transform", R"([{"p":[1],"ld":null,"li":"x"}])", R"([{"p":[0],"ld":null,"li":"x"}])", R"([{"p":[0],"li":"The"}])",
     "right"},
    {"compose", R"([{"p":[0],"ld":"abc"}])", R"([{"p":[0],"ld":"abc","li":null}])", R"([{"p":[0],"ld":null}])", ""},
    {"compose", R"([{"p":[100],"si":"hi"}])", R"([{"p":[100],"si":"h"}])", R"([{"p":[101],"si":"i"}])", ""},
    {"compose", R"([{"p":[],"t":"text0","o":[{"p":100,"i":"hi"}]}])",
     R"([{"p":[],"t":"text0","o":[{"p":100,"i":"h"}]}])", R"([{"p":[],"t":"text0","o":[{"p":101,"i":"i"}]}])", ""},
    {"transform", R"([{"p":[10],"ld":"x"}])", R"([{"p":[4],"ld":"x"}])", R"([{"p":[4],"lm":10}])", "left"},
    {"transform", R"([{"p":[10,1],"si":"a"}])", R"([{"p":[4,1],"si":"a"}])", R"([{"p":[4],"lm":10}])", "left"},
    {"transform", R"([{"p":[10],"t":"text0","o":[{"p":1,"i":"a"}]}])",
     R"([{"p":[4],"t":"text0","o":[{"p":1,"i":"a"}]}])", R"([{"p":[4],"lm":10}])", "left"},
    {"transform", R"([{"p":[10,1],"li":"a"}])", R"([{"p":[4,1],"li":"a"}])", R"([{"p":[4],"lm":10}])", "left"},
    {"transform", R"([{"p":[10,1],"ld":"b","li":"a"}])", R"([{"p":[4,1],"ld":"b","li":"a"}])", R"([{"p":[4],"lm":10}])",
     "left"},
    {"transform", R"([{"p":[0],"li":null}])", R"([{"p":[0],"li":null}])", R"([{"p":[0],"lm":1}])", "left"},
    {"transform", R"([{"p":[6],"li":"x"}])", R"([{"p":[5],"li":"x"}])", R"([{"p":[5],"lm":1}])", "left"},
    {"transform", R"([{"p":[1],"ld":6}])", R"([{"p":[5],"ld":6}])", R"([{"p":[5],"lm":1}])", "left"},
    {"transform", R"([{"p":[0],"li":[]}])", R"([{"p":[0],"li":[]}])", R"([{"p":[1],"lm":0}])", "left"},
    {"transform", R"([{"p":[2],"li":"x"}])", R"([{"p":[2],"li":"x"}])", R"([{"p":[0],"lm":1}])", "left"},
    {"transform", R"([{"p":[0],"lm":1}])", R"([{"p":[0],"lm":2}])", R"([{"p":[1],"ld":"x"}])", "left"},
    {"transform", R"([{"p":[1],"lm":3}])", R"([{"p":[2],"lm":4}])", R"([{"p":[1],"ld":"x"}])", "left"},
    {"transform", R"([{"p":[0],"lm":3}])", R"([{"p":[0],"lm":2}])", R"([{"p":[1],"li":"x"}])", "left"},
    {"transform", R"([{"p":[3],"lm":5}])", R"([{"p":[2],"lm":4}])", R"([{"p":[1],"li":"x"}])", "left"},
    {"transform", R"([{"p":[1],"lm":1}])", R"([{"p":[0],"lm":0}])", R"([{"p":[0],"li":28}])", "left"},
    {"transform", R"([])", R"([{"p":[0],"lm":2}])", R"([{"p":[0],"ld":"x"}])", "left"},
    {"transform", R"([])", R"([{"p":[0],"lm":2}])", R"([{"p":[0],"ld":"x"}])", "right"},
    {"transform", R"([{"p":[1],"lm":3}])", R"([{"p":[0],"lm":2}])", R"([{"p":[0],"li":"x"}])", "left"},
    {"transform", R"([{"p":[1],"lm":3}])", R"([{"p":[0],"lm":2}])", R"([{"p":[0],"li":"x"}])", "right"},
    {"transform", R"([{"p":[0],"li":"y"}])", R"([{"p":[0],"ld":"x","li":"y"}])", R"([{"p":[0],"ld":"x"}])", "right"},
    {"transform", R"([{"p":[1],"ld":{},"li":"brillig"}])", R"([{"p":[0],"ld":{},"li":"brillig"}])",
     R"([{"p":[0],"li":36}])", "left"},
    {"transform", R"([])", R"([{"p":[0],"ld":null,"li":[]}])", R"([{"p":[0],"ld":null,"li":0}])", "right"},
    {"transform", R"([{"p":[0],"ld":[],"li":0}])", R"([{"p":[0],"ld":null,"li":0}])",
     R"([{"p":[0],"ld":null,"li":[]}])", "left"},
    {"compose", R"([{"p":[2],"ld":[]}])", R"([{"p":[2],"ld":[],"li":null}])", R"([{"p":[2],"ld":null}])", ""},
    {"transform", R"([{"p":[0],"lm":2}])", R"([{"p":[0],"lm":2}])", R"([{"p":[2],"lm":1}])", "left"},
    {"transform", R"([{"p":[4],"lm":4}])", R"([{"p":[3],"lm":3}])", R"([{"p":[5],"lm":0}])", "left"},
    {"transform", R"([{"p":[2],"lm":0}])", R"([{"p":[2],"lm":0}])", R"([{"p":[1],"lm":0}])", "left"},
    {"transform", R"([{"p":[2],"lm":1}])", R"([{"p":[2],"lm":0}])", R"([{"p":[1],"lm":0}])", "right"},
    {"transform", R"([{"p":[3],"lm":1}])", R"([{"p":[2],"lm":0}])", R"([{"p":[5],"lm":0}])", "right"},
    {"transform", R"([{"p":[3],"lm":0}])", R"([{"p":[2],"lm":0}])", R"([{"p":[5],"lm":0}])", "left"},
    {"transform", R"([{"p":[0],"lm":5}])", R"([{"p":[2],"lm":5}])", R"([{"p":[2],"lm":0}])", "left"},
    {"transform", R"([{"p":[0],"lm":5}])", R"([{"p":[2],"lm":5}])", R"([{"p":[2],"lm":0}])", "left"},
    {"transform", R"([{"p":[0],"lm":0}])", R"([{"p":[1],"lm":0}])", R"([{"p":[0],"lm":5}])", "right"},
    {"transform", R"([{"p":[0],"lm":0}])", R"([{"p":[1],"lm":0}])", R"([{"p":[0],"lm":1}])", "right"},
    {"transform", R"([{"p":[1],"lm":1}])", R"([{"p":[0],"lm":1}])", R"([{"p":[1],"lm":0}])", "left"},
    {"transform", R"([{"p":[1],"lm":2}])", R"([{"p":[0],"lm":1}])", R"([{"p":[5],"lm":0}])", "right"},
    {"transform", R"([{"p":[3],"lm":2}])", R"([{"p":[2],"lm":1}])", R"([{"p":[5],"lm":0}])", "right"},
    {"transform", R"([{"p":[2],"lm":1}])", R"([{"p":[3],"lm":1}])", R"([{"p":[1],"lm":3}])", "left"},
    {"transform", R"([{"p":[2],"lm":3}])", R"([{"p":[1],"lm":3}])", R"([{"p":[3],"lm":1}])", "left"},
    {"transform", R"([{"p":[2],"lm":6}])", R"([{"p":[2],"lm":6}])", R"([{"p":[0],"lm":1}])", "left"},
    {"transform", R"([{"p":[2],"lm":6}])", R"([{"p":[2],"lm":6}])", R"([{"p":[0],"lm":1}])", "right"},
    {"transform", R"([{"p":[2],"lm":6}])", R"([{"p":[2],"lm":6}])", R"([{"p":[1],"lm":0}])", "left"},
    {"transform", R"([{"p":[2],"lm":6}])", R"([{"p":[2],"lm":6}])", R"([{"p":[1],"lm":0}])", "right"},
    {"transform", R"([{"p":[0],"lm":2}])", R"([{"p":[0],"lm":1}])", R"([{"p":[2],"lm":1}])", "left"},
    {"transform", R"([{"p":[2],"lm":0}])", R"([{"p":[2],"lm":1}])", R"([{"p":[0],"lm":1}])", "right"},
    {"transform", R"([{"p":[1],"lm":1}])", R"([{"p":[0],"lm":0}])", R"([{"p":[1],"lm":0}])", "left"},
    {"transform", R"([{"p":[0],"lm":0}])", R"([{"p":[0],"lm":1}])", R"([{"p":[1],"lm":3}])", "left"},
    {"transform", R"([{"p":[3],"lm":1}])", R"([{"p":[2],"lm":1}])", R"([{"p":[3],"lm":2}])", "left"},
    {"transform", R"([{"p":[3],"lm":3}])", R"([{"p":[3],"lm":2}])", R"([{"p":[2],"lm":1}])", "left"},
    {"transform", R"([{"p":[1,0],"li":{}}])", R"([{"p":[0,0],"li":{}}])", R"([{"p":[1],"lm":0}])", "left"},
    {"transform", R"([{"p":[0],"lm":0}])", R"([{"p":[1],"lm":0}])", R"([{"p":[0],"ld":{}}])", "left"},
    {"transform", R"([{"p":[0],"lm":0}])", R"([{"p":[0],"lm":1}])", R"([{"p":[1],"ld":{}}])", "left"},
    {"transform", R"([{"p":[5],"lm":0}])", R"([{"p":[6],"lm":0}])", R"([{"p":[2],"ld":{}}])", "left"},
    {"transform", R"([{"p":[1],"lm":0}])", R"([{"p":[1],"lm":0}])", R"([{"p":[2],"ld":{}}])", "left"},
    {"transform", R"([{"p":[1],"lm":1}])", R"([{"p":[2],"lm":1}])", R"([{"p":[1],"ld":3}])", "right"},
    {"transform", R"([{"p":[1],"ld":{}}])", R"([{"p":[2],"ld":{}}])", R"([{"p":[1],"lm":2}])", "right"},
    {"transform", R"([{"p":[2],"ld":{}}])", R"([{"p":[1],"ld":{}}])", R"([{"p":[2],"lm":1}])", "left"},
    {"transform", R"([{"p":[0],"ld":{}}])", R"([{"p":[1],"ld":{}}])", R"([{"p":[0],"lm":1}])", "right"},
    {"transform", R"([{"p":[0],"ld":1,"li":2}])", R"([{"p":[1],"ld":1,"li":2}])", R"([{"p":[1],"lm":0}])", "left"},
    {"transform", R"([{"p":[0],"ld":2,"li":3}])", R"([{"p":[1],"ld":2,"li":3}])", R"([{"p":[0],"lm":1}])", "left"},
    {"transform", R"([{"p":[1],"ld":3,"li":4}])", R"([{"p":[0],"ld":3,"li":4}])", R"([{"p":[1],"lm":0}])", "left"},
    {"apply", R"({"x":"a","y":"b"})", R"({"x":"a"})", R"([{"p":["y"],"oi":"b"}])", ""},
    {"apply", R"({})", R"({"x":"a"})", R"([{"p":["x"],"od":"a"}])", ""},
    {"apply", R"({"x":"b"})", R"({"x":"a"})", R"([{"p":["x"],"od":"a","oi":"b"}])", ""},
    {"transform", R"([])", R"([{"p":[1,0],"si":"hi"}])", R"([{"p":[1],"od":"x"}])", "left"},
    {"transform", R"([])", R"([{"p":[1],"t":"text0","o":[{"p":0,"i":"hi"}]}])", R"([{"p":[1],"od":"x"}])", "left"},
    {"transform", R"([])", R"([{"p":[9],"si":"bite "}])", R"([{"p":[],"od":"agimble s","oi":null}])", "right"},
    {"transform", R"([])", R"([{"p":[],"t":"text0","o":[{"p":9,"i":"bite "}]}])",
     R"([{"p":[],"od":"agimble s","oi":null}])", "right"},
    {"transform", R"([])", R"([{"p":[1,0],"si":"hi"}])", R"([{"p":[1],"od":"x","oi":"y"}])", "left"},
    {"transform", R"([])", R"([{"p":[1],"t":"text0","o":[{"p":0,"i":"hi"}]}])", R"([{"p":[1],"od":"x","oi":"y"}])",
     "left"},
    {"transform", R"([{"p":[1],"od":"abc"}])", R"([{"p":[1],"od":"a"}])", R"([{"p":[1,1],"si":"bc"}])", "left"},
    {"transform", R"([{"p":[1],"od":"abc"}])", R"([{"p":[1],"od":"a"}])",
     R"([{"p":[1],"t":"text0","o":[{"p":1,"i":"bc"}]}])", "left"},
    {"transform", R"([{"p":[],"od":25,"oi":[]}])", R"([{"p":[],"od":22,"oi":[]}])", R"([{"p":[],"na":3}])", "left"},
    {"transform", R"([{"p":[],"od":{"toves":""},"oi":4}])", R"([{"p":[],"od":{"toves":0},"oi":4}])",
     R"([{"p":["toves"],"od":0,"oi":""}])", "left"},
    {"transform", R"([{"p":[],"od":"thou an","oi":[]}])", R"([{"p":[],"od":"thou and ","oi":[]}])",
     R"([{"p":[7],"sd":"d "}])", "left"},
    {"transform", R"([{"p":[],"od":"thou an","oi":[]}])", R"([{"p":[],"od":"thou and ","oi":[]}])",
     R"([{"p":[],"t":"text0","o":[{"p":7,"d":"d "}]}])", "left"},
    {"transform", R"([])", R"([{"p":["bird"],"na":2}])", R"([{"p":[],"od":{"bird":38},"oi":20}])", "right"},
    {"transform", R"([{"p":[],"od":{"bird":40},"oi":20}])", R"([{"p":[],"od":{"bird":38},"oi":20}])",
     R"([{"p":["bird"],"na":2}])", "left"},
    {"transform", R"([{"p":["He"],"od":[]}])", R"([{"p":["He"],"od":[]}])", R"([{"p":["The"],"na":-3}])", "right"},
    {"transform", R"([])", R"([{"p":["He"],"oi":{}}])", R"([{"p":[],"od":{},"oi":"the"}])", "left"},
    {"transform", R"([{"p":[1],"oi":"a","od":"b"}])", R"([{"p":[1],"oi":"a"}])", R"([{"p":[1],"oi":"b"}])", "left"},
    {"transform", R"([])", R"([{"p":[1],"oi":"b"}])", R"([{"p":[1],"oi":"a"}])", "right"},
    {"transform", R"([{"p":["a"],"oi":"x"}])", R"([{"p":["a"],"oi":"x"}])", R"([{"p":["b"],"oi":"z"}])", "left"},
    {"transform", R"([{"p":["a"],"oi":"x"}])", R"([{"p":["a"],"oi":"x"}])", R"([{"p":["b"],"od":"z"}])", "left"},
    {"transform", R"([{"p":["in","he"],"oi":{}}])", R"([{"p":["in","he"],"oi":{}}])", R"([{"p":["and"],"od":{}}])",
     "right"},
    {"transform", R"([{"p":["x",0],"si":"his "}])", R"([{"p":["x",0],"si":"his "}])", R"([{"p":["y"],"od":0,"oi":1}])",
     "right"},
    {"transform", R"([{"p":["x"],"t":"text0","o":[{"p":0,"i":"his "}]}])",
     R"([{"p":["x"],"t":"text0","o":[{"p":0,"i":"his "}]}])", R"([{"p":["y"],"od":0,"oi":1}])", "right"},
    {"transform", R"([{"p":[],"oi":{}}])", R"([{"p":[],"od":[""],"oi":{}}])", R"([{"p":[],"od":[""]}])", "right"},
    {"transform", R"([])", R"([{"p":[],"od":[""]},{"p":[],"oi":{}}])", R"([{"p":[],"od":[""]},{"p":[],"oi":null}])",
     "right"},
    {"transform", R"([{"p":[],"od":null,"oi":{}}])", R"([{"p":[],"od":[""]},{"p":[],"oi":{}}])",
     R"([{"p":[],"od":[""]},{"p":[],"oi":null}])", "left"},
    {"transform", R"([])", R"([{"p":[],"od":[""],"oi":{}}])", R"([{"p":[],"od":[""],"oi":null}])", "right"},
    {"transform", R"([{"p":[],"od":null,"oi":{}}])", R"([{"p":[],"od":[""],"oi":{}}])",
     R"([{"p":[],"od":[""],"oi":null}])", "left"},
    {"transform", R"([])", R"([{"p":["k"],"od":"x"}])", R"([{"p":["k"],"od":"x"}])", "left"},
    {"transform", R"([])", R"([{"p":["k"],"od":"x"}])", R"([{"p":["k"],"od":"x"}])", "right"},
    {"transform", R"([{"p":[0],"li":[]}])", R"([{"p":[0],"li":[]}])", R"([{"p":[1],"lm":3}])", "left"},
    {"transform", R"([{"p":[1],"li":[]}])", R"([{"p":[1],"li":[]}])", R"([{"p":[1],"lm":3}])", "left"},
    {"transform", R"([{"p":[1],"li":[]}])", R"([{"p":[2],"li":[]}])", R"([{"p":[1],"lm":3}])", "left"},
    {"transform", R"([{"p":[2],"li":[]}])", R"([{"p":[3],"li":[]}])", R"([{"p":[1],"lm":3}])", "left"},
    {"transform", R"([{"p":[4],"li":[]}])", R"([{"p":[4],"li":[]}])", R"([{"p":[1],"lm":3}])", "left"},
    {"transform", R"([{"p":[2],"lm":4}])", R"([{"p":[1],"lm":3}])", R"([{"p":[0],"li":[]}])", "right"},
    {"transform", R"([{"p":[2],"lm":4}])", R"([{"p":[1],"lm":3}])", R"([{"p":[1],"li":[]}])", "right"},
    {"transform", R"([{"p":[1],"lm":4}])", R"([{"p":[1],"lm":3}])", R"([{"p":[2],"li":[]}])", "right"},
    {"transform", R"([{"p":[1],"lm":4}])", R"([{"p":[1],"lm":3}])", R"([{"p":[3],"li":[]}])", "right"},
    {"transform", R"([{"p":[1],"lm":3}])", R"([{"p":[1],"lm":3}])", R"([{"p":[4],"li":[]}])", "right"},
    {"transform", R"([{"p":[0],"li":[]}])", R"([{"p":[0],"li":[]}])", R"([{"p":[1],"lm":2}])", "left"},
    {"transform", R"([{"p":[1],"li":[]}])", R"([{"p":[1],"li":[]}])", R"([{"p":[1],"lm":2}])", "left"},
    {"transform", R"([{"p":[1],"li":[]}])", R"([{"p":[2],"li":[]}])", R"([{"p":[1],"lm":2}])", "left"},
    {"transform", R"([{"p":[3],"li":[]}])", R"([{"p":[3],"li":[]}])", R"([{"p":[1],"lm":2}])", "left"},
    {"transform", R"([{"p":[0],"li":[]}])", R"([{"p":[0],"li":[]}])", R"([{"p":[3],"lm":1}])", "left"},
    {"transform", R"([{"p":[1],"li":[]}])", R"([{"p":[1],"li":[]}])", R"([{"p":[3],"lm":1}])", "left"},
    {"transform", R"([{"p":[3],"li":[]}])", R"([{"p":[2],"li":[]}])", R"([{"p":[3],"lm":1}])", "left"},
    {"transform", R"([{"p":[4],"li":[]}])", R"([{"p":[3],"li":[]}])", R"([{"p":[3],"lm":1}])", "left"},
    {"transform", R"([{"p":[4],"li":[]}])", R"([{"p":[4],"li":[]}])", R"([{"p":[3],"lm":1}])", "left"},
    {"transform", R"([{"p":[4],"lm":2}])", R"([{"p":[3],"lm":1}])", R"([{"p":[0],"li":[]}])", "right"},
    {"transform", R"([{"p":[4],"lm":2}])", R"([{"p":[3],"lm":1}])", R"([{"p":[1],"li":[]}])", "right"},
    {"transform", R"([{"p":[4],"lm":1}])", R"([{"p":[3],"lm":1}])", R"([{"p":[2],"li":[]}])", "right"},
    {"transform", R"([{"p":[4],"lm":1}])", R"([{"p":[3],"lm":1}])", R"([{"p":[3],"li":[]}])", "right"},
    {"transform", R"([{"p":[3],"lm":1}])", R"([{"p":[3],"lm":1}])", R"([{"p":[4],"li":[]}])", "right"},
    {"transform", R"([{"p":[0],"li":[]}])", R"([{"p":[0],"li":[]}])", R"([{"p":[2],"lm":1}])", "left"},
    {"transform", R"([{"p":[1],"li":[]}])", R"([{"p":[1],"li":[]}])", R"([{"p":[2],"lm":1}])", "left"},
    {"transform", R"([{"p":[3],"li":[]}])", R"([{"p":[2],"li":[]}])", R"([{"p":[2],"lm":1}])", "left"},
    {"transform", R"([{"p":[3],"li":[]}])", R"([{"p":[3],"li":[]}])", R"([{"p":[2],"lm":1}])", "left"},
};

TEST(Json0Reference, OtJson0TestSuite) {
    int n = 0;
    for (const Case &c : kReferenceCases) {
        SCOPED_TRACE(std::string(c.fn) + " " + c.a + " " + c.b + " " + c.side);
        const std::string fn = c.fn;
        JsonPtr got = fn == "transform" ? T().transform(J(c.a).get(), J(c.b).get(), parse_side(c.side))
                      : fn == "compose" ? T().compose(J(c.a).get(), J(c.b).get())
                                        : T().apply(J(c.a).get(), J(c.b).get());
        ExpectJson(got, c.expected);
        n++;
    }
    EXPECT_GT(n, 150);
}

// ---------------------------------------------------------------------------------------------------------------
// Registry and type surface

TEST(Json0Type, Surface) {
    EXPECT_EQ(find_type("json0"), &T());
    EXPECT_EQ(find_type("http://sharejs.org/types/JSONv0"), &T());
    EXPECT_EQ(T().name(), "json0");
    EXPECT_EQ(T().uri(), "http://sharejs.org/types/JSONv0");
    ExpectJson(T().create(nullptr)->to_json(), "null");
    EXPECT_TRUE(T().is_noop(J("[]").get()));
    EXPECT_FALSE(T().is_noop(J(R"([{"p":[],"na":1}])").get()));
    EXPECT_TRUE(ThrowsKind([] { (void)T().transform_position(0, J("[]").get()); }, ErrorKind::Unsupported));
}

// ---------------------------------------------------------------------------------------------------------------
// Apply, component by component

TEST(Json0Apply, Components) {
    ExpectJson(Apply("1", R"([{"p":[],"na":2}])"), "3");
    ExpectJson(Apply(R"({"n":1.5})", R"([{"p":["n"],"na":1.5}])"), R"({"n":3})");
    ExpectJson(Apply(R"({"x":[1,2]})", R"([{"p":["x",2],"li":{"a":1}}])"), R"({"x":[1,2,{"a":1}]})");
    ExpectJson(Apply(R"({"x":[1,{"a":[2]}]})", R"([{"p":["x",1],"ld":{"a":[2]}}])"), R"({"x":[1]})");
    ExpectJson(Apply(R"([1,2,3])", R"([{"p":[1],"ld":2,"li":"two"}])"), R"([1,"two",3])");
    ExpectJson(Apply(R"([1,2,3])", R"([{"p":[0],"lm":2}])"), R"([2,3,1])");
    ExpectJson(Apply(R"([1,2,3])", R"([{"p":[2],"lm":0}])"), R"([3,1,2])");
    ExpectJson(Apply(R"([1,2,3])", R"([{"p":[1],"lm":1}])"), R"([1,2,3])");
    ExpectJson(Apply(R"({})", R"([{"p":["k"],"oi":[1]}])"), R"({"k":[1]})");
    ExpectJson(Apply(R"({"k":1})", R"([{"p":["k"],"od":1}])"), R"({})");
    ExpectJson(Apply(R"({"k":1})", R"([{"p":["k"],"od":1,"oi":null}])"), R"({"k":null})");
    ExpectJson(Apply(R"({"1":"x"})", R"([{"p":[1],"od":"x"}])"), R"({})"); // JavaScript key coercion
    ExpectJson(Apply("null", R"([{"p":[],"od":null,"oi":{"a":1}}])"), R"({"a":1})");
    ExpectJson(Apply("null", R"([{"p":[],"oi":5}])"), "5");
    // strings: si/sd and text0 count UTF-16 code units; text-unicode counts code points
    ExpectJson(Apply(R"({"s":"a😀b"})", R"([{"p":["s",3],"si":"X"}])"), R"({"s":"a😀Xb"})");
    ExpectJson(Apply(R"({"s":"a😀b"})", R"([{"p":["s",1],"sd":"😀"}])"), R"({"s":"ab"})");
    ExpectJson(Apply(R"(["é😀"])", R"([{"p":[0],"t":"text0","o":[{"p":3,"i":"!"},{"p":0,"d":"é"}]}])"), R"(["😀!"])");
    ExpectJson(Apply(R"({"s":"a😀b"})", R"([{"p":["s"],"t":"text-unicode","o":[2,"X"]}])"), R"({"s":"a😀Xb"})");
    ExpectJson(Apply(R"({"s":"a😀b"})", R"([{"p":["s"],"t":"text-unicode","o":[1,{"d":"😀"}]}])"), R"({"s":"ab"})");
    ExpectJson(Apply(R"("abc")", R"([{"p":[],"t":"text-unicode","o":[{"d":1}]}])"), R"("bc")");
    // several components in sequence
    ExpectJson(Apply(R"({"l":[]})", R"([{"p":["l",0],"li":"a"},{"p":["l",1],"li":"b"},{"p":["l",0],"lm":1},
                                        {"p":["l",0,0],"si":"x"}])"),
               R"({"l":["xb","a"]})");
}

TEST(Json0Apply, Errors) {
    const ErrorKind NA = ErrorKind::OpNotApplicable, BF = ErrorKind::OpBadlyFormed;
    struct {
        const char *doc, *op;
        ErrorKind kind;
    } cases[] = {
        {"{}", R"({"p":[],"na":1})", BF},                         // not an array
        {"{}", R"([{"na":1}])", BF},                              // missing path
        {"{}", R"([{"p":[true],"na":1}])", BF},                   // bad path element
        {"{}", R"([{"p":[-1],"na":1}])", BF},                     // negative index
        {"{}", R"([{"p":["a"]}])", BF},                           // no instruction
        {"{}", R"([{"p":["a"],"na":1,"oi":1}])", BF},             // two instructions
        {"{}", R"([{"p":["a"],"na":"1"}])", BF},                  // na not a number
        {"[1]", R"([{"p":[0],"lm":-1}])", BF},                    // bad lm
        {"[1]", R"([{"p":["a"],"li":1}])", NA},                   // list op with a key
        {"{}", R"([{"p":["a"],"si":"x"}])", BF},                  // si path without an offset
        {"{}", R"([{"p":["a"],"t":"nope","o":[]}])", BF},         // unknown subtype
        {"{}", R"([{"p":["a"],"t":"text0"}])", BF},               // subtype without o
        {"{}", R"([{"p":["a"],"t":"text0","o":[{"p":0}]}])", BF}, // bad text0 op
        {"{}", R"([{"p":["a"],"t":"text-unicode","o":[0]}])", BF},
        {"{}", R"([{"p":["a","b"],"oi":1}])", NA},                               // path into a missing key
        {"[]", R"([{"p":[0,"b"],"oi":1}])", NA},                                 // index out of range on the way
        {"[1]", R"([{"p":[2],"li":1}])", NA},                                    // insert past the end
        {"[1]", R"([{"p":[1],"ld":1}])", NA},                                    // delete past the end
        {"[1]", R"([{"p":[0],"ld":2}])", NA},                                    // ld mismatch
        {"[[1,2]]", R"([{"p":[0],"ld":[1,3],"li":0}])", NA},                     // ld mismatch (deep)
        {"[1,2]", R"([{"p":[0],"lm":2}])", NA},                                  // lm past the end
        {"{}", R"([{"p":[0],"li":1}])", NA},                                     // list op on an object
        {"[]", R"([{"p":[0],"oi":1}])", NA},                                     // object op on a list
        {R"({"a":1})", R"([{"p":["a"],"od":2}])", NA},                           // od mismatch
        {R"({"a":1})", R"([{"p":["b"],"od":1}])", NA},                           // od of a missing key
        {R"({"a":1})", R"([{"p":["a"],"oi":2}])", NA},                           // oi over an existing key without od
        {R"({"a":"x"})", R"([{"p":["a"],"na":1}])", NA},                         // na on a string
        {R"({"a":1})", R"([{"p":["a",0],"si":"x"}])", NA},                       // si on a number
        {R"({"a":"x"})", R"([{"p":["a",2],"si":"x"}])", NA},                     // si past the end
        {R"({"a":"xy"})", R"([{"p":["a",0],"sd":"y"}])", NA},                    // sd mismatch
        {R"({"a":"😀"})", R"([{"p":["a",1],"si":"x"}])", ErrorKind::InvalidText}, // splits a surrogate pair
        {R"({"a":"x"})", R"([{"p":["a"],"t":"text-unicode","o":[{"d":"y"}]}])", NA},
        {"1", R"([{"p":[],"od":1}])", NA},  // deleting the root
        {"[]", R"([{"p":[],"li":1}])", NA}, // list op without an index
    };
    for (const auto &c : cases) {
        EXPECT_TRUE(ThrowsKind([&] { (void)Apply(c.doc, c.op); }, c.kind)) << c.doc << " " << c.op;
    }
}

TEST(Json0Apply, AtomicOnError) {
    std::unique_ptr<Snapshot> s = T().create(J(R"({"l":[1,2,3],"o":{"a":"xy"},"n":1})").get());
    const char *bad = R"([{"p":["l",0],"lm":2},{"p":["l",1],"ld":2,"li":9},{"p":["o","a",1],"si":"!"},
                         {"p":["o","b"],"oi":[]},{"p":["n"],"na":5},{"p":["o"],"od":{},"oi":1},
                         {"p":["l",0],"ld":"wrong"}])";
    EXPECT_TRUE(ThrowsKind([&] { s->apply(J(bad).get()); }, ErrorKind::OpNotApplicable));
    ExpectJson(s->to_json(), R"({"l":[1,2,3],"o":{"a":"xy"},"n":1})");
    std::unique_ptr<Snapshot> r = T().create(J("7").get());
    EXPECT_TRUE(ThrowsKind([&] { r->apply(J(R"([{"p":[],"oi":[1],"od":7},{"p":[5],"li":0}])").get()); },
                           ErrorKind::OpNotApplicable));
    ExpectJson(r->to_json(), "7");
}

TEST(Json0Apply, DoesNotAliasOps) {
    std::unique_ptr<Snapshot> s = T().create(J("{}").get());
    JsonPtr op = J(R"([{"p":["a"],"oi":{"n":1}}])");
    s->apply(op.get());
    s->apply(J(R"([{"p":["a","n"],"na":1}])").get());
    ExpectJson(s->to_json(), R"({"a":{"n":2}})");
    ExpectJson(json_ref(op.get()), R"([{"p":["a"],"oi":{"n":1}}])");
}

// ---------------------------------------------------------------------------------------------------------------
// Transform, compose, invert, normalize beyond the reference suite

TEST(Json0Transform, SubtypeAndSides) {
    ExpectJson(T().transform(J(R"([{"p":["s"],"t":"text-unicode","o":[1,"x"]}])").get(),
                             J(R"([{"p":["s"],"t":"text-unicode","o":[1,"y"]}])").get(), Side::Right),
               R"([{"p":["s"],"t":"text-unicode","o":[2,"x"]}])");
    ExpectJson(T().transform(J(R"([{"p":["s"],"t":"text-unicode","o":[{"d":"a"}]}])").get(),
                             J(R"([{"p":["s"],"t":"text-unicode","o":[{"d":"a"}]}])").get(), Side::Left),
               "[]");
    ExpectJson(
        T().transform(J(R"([{"p":["s",1],"si":"x"}])").get(), J(R"([{"p":["s",1],"si":"yy"}])").get(), Side::Right),
        R"([{"p":["s",3],"si":"x"}])");
    ExpectJson(
        T().transform(J(R"([{"p":["s",1],"si":"x"}])").get(), J(R"([{"p":["s",1],"si":"yy"}])").get(), Side::Left),
        R"([{"p":["s",1],"si":"x"}])");
    // Multi-component ops go through bootstrapTransform's transformX.
    ExpectJson(T().transform(J(R"([{"p":[0],"li":"a"},{"p":[2],"ld":"b"}])").get(),
                             J(R"([{"p":[0],"ld":"z"},{"p":[0],"li":"q"}])").get(), Side::Right),
               R"([{"p":[1],"li":"a"},{"p":[2],"ld":"b"}])");
    EXPECT_TRUE(
        ThrowsKind([] { (void)T().transform(J("[{}]").get(), J("[]").get(), Side::Left); }, ErrorKind::OpBadlyFormed));
}

TEST(Json0Compose, Merges) {
    ExpectJson(T().compose(J(R"([{"p":["a"],"na":1}])").get(), J(R"([{"p":["a"],"na":-1}])").get()),
               R"([{"p":["a"],"na":0}])");
    ExpectJson(T().compose(J(R"([{"p":["a"],"oi":1}])").get(), J(R"([{"p":["a"],"od":1}])").get()), "[]");
    ExpectJson(T().compose(J(R"([{"p":["a"],"oi":1}])").get(), J(R"([{"p":["a"],"od":1,"oi":2}])").get()),
               R"([{"p":["a"],"oi":2}])");
    ExpectJson(T().compose(J(R"([{"p":["s",0],"si":"ab"}])").get(), J(R"([{"p":["s",1],"sd":"b"}])").get()),
               R"([{"p":["s",0],"si":"ab"},{"p":["s",1],"sd":"b"}])");
    ExpectJson(T().compose(J(R"([{"p":["s",0],"si":"a"}])").get(), J(R"([{"p":["s",5],"si":"b"}])").get()),
               R"([{"p":["s",0],"si":"a"},{"p":["s",5],"si":"b"}])");
    ExpectJson(T().compose(J(R"([{"p":["s"],"t":"text-unicode","o":["a"]}])").get(),
                           J(R"([{"p":["s"],"t":"text-unicode","o":[1,"b"]}])").get()),
               R"([{"p":["s"],"t":"text-unicode","o":["ab"]}])");
    // an lm to where the element is composes away; objects are never === in ot-json0, so li then ld of an
    // equal object stays as two components
    ExpectJson(T().compose(J("[]").get(), J(R"([{"p":[3],"lm":3}])").get()), R"([{"p":[3],"lm":3}])");
    ExpectJson(T().compose(J(R"([{"p":[3],"na":1}])").get(), J(R"([{"p":[3],"lm":3}])").get()),
               R"([{"p":[3],"na":1}])");
    ExpectJson(T().compose(J(R"([{"p":[0],"li":{}}])").get(), J(R"([{"p":[0],"ld":{}}])").get()),
               R"([{"p":[0],"li":{}},{"p":[0],"ld":{}}])");
}

TEST(Json0Invert, AllComponents) {
    const char *op = R"([{"p":["a"],"na":2},{"p":["l",0],"li":1},{"p":["l",1],"ld":2,"li":3},{"p":["l",0],"lm":2},
                        {"p":["o"],"oi":{"x":1}},{"p":["o2"],"od":[1]},{"p":["s",1],"si":"x"},{"p":["s",0],"sd":"q"},
                        {"p":["t"],"t":"text0","o":[{"p":0,"i":"ab"}]},
                        {"p":["u"],"t":"text-unicode","o":[1,{"d":"z"}]}])";
    ExpectJson(T().invert(J(op).get()),
               R"([{"p":["u"],"t":"text-unicode","o":[1,"z"]},{"p":["t"],"t":"text0","o":[{"p":0,"d":"ab"}]},
                   {"p":["s",0],"si":"q"},{"p":["s",1],"sd":"x"},{"p":["o2"],"oi":[1]},{"p":["o"],"od":{"x":1}},
                   {"p":["l",2],"lm":0},{"p":["l",1],"li":2,"ld":3},{"p":["l",0],"ld":1},{"p":["a"],"na":-2}])");
    const char *doc = R"({"a":1,"l":[2,9],"o2":[1],"s":"qw","t":"","u":"yz"})";
    JsonPtr after = Apply(doc, op);
    ExpectJson(T().apply(after.get(), T().invert(J(op).get()).get()), doc);
    EXPECT_TRUE(ThrowsKind([] { (void)T().invert(J(R"([{"p":["u"],"t":"text-unicode","o":[{"d":1}]}])").get()); },
                           ErrorKind::Unsupported));
}

TEST(Json0Normalize, Cases) {
    ExpectJson(T().normalize(J(R"({"p":["a"],"na":1})").get()), R"([{"p":["a"],"na":1}])");
    ExpectJson(T().normalize(J(R"([{"na":1},{"na":2}])").get()), R"([{"p":[],"na":3}])");
    ExpectJson(T().normalize(J(R"([{"p":["s",0],"si":"a"},{"p":["s",1],"si":"b"}])").get()),
               R"([{"p":["s",0],"si":"ab"}])");
    ExpectJson(T().normalize(J(R"([{"p":[0],"li":1},{"p":[0],"ld":1}])").get()), "[]");
    ExpectJson(T().normalize(J(R"([{"p":[1],"lm":1}])").get()), R"([{"p":[1],"lm":1}])");
}

// ---------------------------------------------------------------------------------------------------------------
// The typed API: parse once (json0::Op), apply to a json0::Value, transform typed ops

std::string TypedErr(const std::function<void()> &fn, ErrorKind *kind) {
    try {
        fn();
    } catch (const OtError &e) {
        *kind = e.kind();
        return e.what();
    }
    ADD_FAILURE() << "threw nothing";
    return "";
}

TEST(Json0Typed, ParseRoundTripAndText) {
    const char *ops[] = {
        R"([{"p":["a",0],"li":{"x":[1,2.5,"s",null,true]}},{"p":["b"],"od":1,"oi":2},{"p":["n"],"na":-1.5}])",
        R"([{"p":[3],"lm":0},{"p":["s",2],"si":"😀x"},{"p":["s",0],"sd":"é"},{"p":[],"oi":null}])",
        R"([{"p":["t"],"t":"text0","o":[{"p":1,"i":"ab"},{"p":0,"d":"q"}]}])",
        R"([{"p":["u"],"t":"text-unicode","o":[2,"x",{"d":"yz"}]}])",
        "[]",
    };
    for (const char *text : ops) {
        SCOPED_TRACE(text);
        const json0::Op a = json0::parse_op(J(text).get());
        const json0::Op b = json0::parse_op(std::string_view(text));
        ExpectJson(json0::to_json(a), text);
        ExpectJson(json0::to_json(b), text);
        EXPECT_EQ(a.size(), json_array_size(J(text).get()));
    }
    const json0::Op op = json0::parse_op(std::string_view(R"([{"p":["k",1],"ld":"v"}])"));
    ASSERT_EQ(op.size(), 1u);
    EXPECT_TRUE(op[0].is(json0::Component::LD));
    ASSERT_EQ(op[0].p.size(), 2u);
    EXPECT_EQ(op[0].p[0].kind, json0::Scalar::Kind::Str);
    EXPECT_EQ(op[0].p[0].s, "k");
    EXPECT_EQ(op[0].p[1].kind, json0::Scalar::Kind::Int);
    EXPECT_EQ(op[0].p[1].i, 1);
    EXPECT_EQ(op[0].del->str(), "v");
}

TEST(Json0Typed, ParseErrorsMatchCheckOp) {
    const char *bad[] = {
        R"({"p":[],"na":1})",
        R"([1])",
        R"([{"na":1}])",
        R"([{"p":"a","na":1}])",
        R"([{"p":[true],"na":1}])",
        R"([{"p":[-1],"na":1}])",
        R"([{"p":[1.5],"na":1}])",
        R"([{"p":["a"]}])",
        R"([{"p":["a"],"na":1,"oi":1}])",
        R"([{"p":["a"],"li":1,"oi":1}])",
        R"([{"p":["a"],"na":"1"}])",
        R"([{"p":[0],"lm":-1}])",
        R"([{"p":[0],"lm":1.5}])",
        R"([{"p":[0],"si":1}])",
        R"([{"p":[0],"sd":null}])",
        R"([{"p":["a"],"t":"nope","o":[]}])",
        R"([{"p":["a"],"t":7,"o":[]}])",
        R"([{"p":["a"],"o":[]}])",
        R"([{"p":["a"],"t":"text0"}])",
        R"([{"p":["a"],"t":"text0","o":[{"p":0}]}])",
        R"([{"p":["a"],"t":"text0","o":[{"p":-1,"i":"x"}]}])",
        R"([{"p":["a"],"t":"text-unicode","o":[0]}])",
    };
    for (const char *text : bad) {
        SCOPED_TRACE(text);
        ErrorKind typed_kind{}, check_kind{};
        const std::string typed = TypedErr([&] { (void)json0::parse_op(J(text).get()); }, &typed_kind);
        const std::string checked = TypedErr([&] { json0::check_op(J(text).get()); }, &check_kind);
        EXPECT_EQ(typed_kind, ErrorKind::OpBadlyFormed);
        EXPECT_EQ(typed_kind, check_kind);
        EXPECT_EQ(typed, checked);
        EXPECT_FALSE(typed.empty());
        ErrorKind text_kind{};
        const std::string from_text = TypedErr([&] { (void)json0::parse_op(std::string_view(text)); }, &text_kind);
        EXPECT_EQ(text_kind, check_kind);
        EXPECT_EQ(from_text, checked);
    }
    // invalid JSON text
    EXPECT_TRUE(ThrowsKind([] { (void)json0::parse_op(std::string_view("[{")); }, ErrorKind::OpBadlyFormed));
    EXPECT_TRUE(ThrowsKind([] { (void)json0::parse_op(std::string_view("[{\"p\":[],\"oi\":\"\\ud800\"}]")); },
                           ErrorKind::InvalidText));
}

TEST(Json0Typed, ParseFromTextAgreesWithJansson) {
    // Accepted: the fast parser's result equals jansson's (or jansson parses what the fast parser leaves to it).
    const char *good[] = {
        R"([{"p":["a"],"oi":{"x":1,"y":[true,false,null,-0,1.5e3,-2E-2,0.25],"x":2}}])", // duplicate key: replaced
        R"( [ { "p" : [ "a" , 0 ] , "li" : "\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00é😀" } ] )",
        R"([{"p":[],"oi":123456789012345678}])",
        R"([{"p":[],"oi":-9223372036854775808}])",
        R"([{"p":[],"oi":1e-400}])",
        R"([{"p":[],"oi":123456789012345678901}])", // left to jansson
        R"([{"p":[],"oi":{"":{"a":[[[]]]}}}])",
    };
    for (const char *text : good) {
        SCOPED_TRACE(text);
        ExpectJson(json0::to_json(json0::parse_op(std::string_view(text))),
                   D(json0::to_json(json0::parse_op(J(text).get()))));
        EXPECT_EQ(D(json0::to_json(json0::parse_op(std::string_view(text)))),
                  D(json0::to_json(json0::parse_op(J(text).get()))));
    }
    // Rejected as jansson rejects them, with its error kind.
    const char *bad[] = {
        "",
        " ",
        "[",
        "[{]",
        "[1,]",
        "[01]",
        "[1.]",
        "[.5]",
        "[-]",
        "[1e]",
        "[tru]",
        "[] []",
        "[\"a]",
        R"(["\u0000"])",
        R"(["\ud800"])",
        R"(["\udc00x"])",
        R"(["\ud800\u0041"])",
        R"(["\x"])",
        "[\"\x01\"]",
        "[\"\xc3\x28\"]",
        "[\"\xed\xa0\x80\"]",
        "[\"\xc0\xaf\"]",
        "[1e400]",
    };
    for (const char *text : bad) {
        SCOPED_TRACE(text);
        ErrorKind want{}, got{};
        (void)TypedErr([&] { (void)json_parse(text, ErrorKind::OpBadlyFormed, "json0 op"); }, &want);
        (void)TypedErr([&] { (void)json0::parse_op(std::string_view(text)); }, &got);
        EXPECT_EQ(got, want);
    }
    std::string deep(3000, '[');
    deep += std::string(3000, ']');
    EXPECT_TRUE(ThrowsKind([&] { (void)json0::parse_op(std::string_view(deep)); }, ErrorKind::OpBadlyFormed));
}

TEST(Json0Typed, ApplyMatchesTheJsonApi) {
    const char *doc = R"({"l":[1,{"a":"xy"},[3]],"o":{"k0":1,"k1":"😀ab"},"n":2,"s":"héllo"})";
    const char *ops[] = {
        R"([{"p":["l",0],"li":"new"},{"p":["l",3,0],"na":4},{"p":["l",0],"lm":2}])",
        R"([{"p":["o","k1",2],"si":"!"},{"p":["o","k1",0],"sd":"😀"},{"p":["o","k2"],"oi":[1]}])",
        R"([{"p":["o"],"od":{"k0":1,"k1":"😀ab"},"oi":"replaced"},{"p":["n"],"na":0.5}])",
        R"([{"p":["s"],"t":"text0","o":[{"p":1,"d":"é"},{"p":4,"i":"!"}]}])",
        R"([{"p":["s"],"t":"text-unicode","o":[1,{"d":"é"},"e"]}])",
        R"([{"p":["l",1,"a"],"od":"xy"},{"p":["l",1],"ld":{},"li":null}])",
        R"([{"p":[],"od":{"l":[1,{"a":"xy"},[3]],"o":{"k0":1,"k1":"😀ab"},"n":2,"s":"héllo"},"oi":[]}])",
    };
    for (const char *op : ops) {
        SCOPED_TRACE(op);
        json0::Value v = json0::Value::from_json(J(doc).get());
        json0::apply(v, json0::parse_op(J(op).get()));
        ExpectJson(v.to_json(), D(Apply(doc, op)));
        JsonPtr j = J(doc);
        json0::apply_in_place(j, J(op).get());
        ExpectJson(j, D(v.to_json()));
    }
}

TEST(Json0Typed, ApplyErrorsLeaveTheDocumentUnchanged) {
    const ErrorKind NA = ErrorKind::OpNotApplicable, BF = ErrorKind::OpBadlyFormed, IT = ErrorKind::InvalidText;
    const char *doc = R"({"l":[1,2,{"x":"y"}],"o":{"a":1,"b":"xy","c":[true]},"s":"a😀b","n":5,"z":null,
                         "big":{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9}})";
    // A prefix of valid components that touches every container kind, so that rollback is exercised.
    const std::string prefix = R"({"p":["l",0],"li":"first"},{"p":["o","d"],"oi":{"new":[1]}},)"
                               R"({"p":["big","k3"],"od":3},{"p":["big","k10"],"oi":10},{"p":["s",0],"si":"<"},)"
                               R"({"p":["s",1],"sd":"a"},{"p":["n"],"na":1},{"p":["l",1],"lm":3},)"
                               R"({"p":["o","b"],"t":"text0","o":[{"p":0,"i":"!"}]},{"p":["z"],"od":null,"oi":"nz"},)";
    struct Case {
        const char *component;
        ErrorKind kind;
        const char *message;
    } cases[] = {
        // bad paths
        {R"({"p":["missing","x"],"oi":1})", NA, "the key [\"missing\"] does not exist"},
        {R"({"p":["n","x","y"],"oi":1})", NA, "[\"n\"] is a number, which has no elements or keys"},
        {R"({"p":["n","x"],"oi":1})", NA, "oi and od need an object, and [\"n\"] is a number"},
        {R"({"p":["l",9,"x"],"oi":1})", NA, "the index [\"l\",9] is past the end of the list at [\"l\"]"},
        {R"({"p":["missing"],"t":"text0","o":[{"p":0,"i":"x"}]})", NA, "the key [\"missing\"] does not exist"},
        {R"({"p":["nope",0],"si":"x"})", NA, "the key [\"nope\"] does not exist"},
        // out-of-range indexes
        {R"({"p":["l",9],"li":1})", NA, "li at [\"l\",9] is past the end of the list"},
        {R"({"p":["l",9],"ld":1})", NA, "the index [\"l\",9] is past the end of the list"},
        {R"({"p":["l",9],"ld":1,"li":2})", NA, "the index [\"l\",9] is past the end of the list"},
        {R"({"p":["l",0],"lm":9})", NA, "lm moves [\"l\",0] to an index past the end of the list"},
        {R"({"p":["l",9],"lm":0})", NA, "the index [\"l\",9] is past the end of the list"},
        {R"({"p":["s",9],"si":"x"})", NA, "past the end"},
        {R"({"p":["s",9],"sd":"x"})", NA, "past the end"},
        {R"({"p":["s"],"t":"text0","o":[{"p":99,"i":"x"}]})", NA, "past the end"},
        {R"({"p":["s"],"t":"text-unicode","o":[99,"x"]})", NA, ""},
        // wrong container kinds
        {R"({"p":["o",0],"li":1})", NA, "li, ld and lm need a list, and [\"o\"] is an object"},
        {R"({"p":["l","a"],"li":1})", NA, "must be an integer index"},
        {R"({"p":["l",0],"oi":1})", NA, "oi and od need an object, and [\"l\"] is a list"},
        {R"({"p":["s"],"na":1})", NA, "na needs a number, and [\"s\"] is a string"},
        {R"({"p":["n",0],"si":"x"})", NA, "not a string"},
        {R"({"p":["o"],"t":"text0","o":[{"p":0,"i":"x"}]})", NA, "not a string"},
        {R"({"p":["l"],"t":"text-unicode","o":["x"]})", NA, "not a string"},
        {R"({"p":[],"li":1})", NA, "a list op needs a path ending in a list index"},
        {R"({"p":[],"od":{}})", NA, "cannot delete the document root"},
        // mismatched ld / od and text deletes
        {R"({"p":["l",2],"ld":{"x":"z"}})", NA, "ld does not match"},
        {R"({"p":["l",2],"ld":{"x":"y","w":1},"li":0})", NA, "ld does not match"},
        {R"({"p":["o","a"],"od":2})", NA, "od does not match"},
        {R"({"p":["o","a"],"od":[1],"oi":2})", NA, "od does not match"},
        {R"({"p":["o","missing"],"od":1})", NA, "od of the key [\"o\",\"missing\"], which does not exist"},
        {R"({"p":["o","a"],"oi":2})", NA, "oi over the existing key [\"o\",\"a\"] needs od"},
        {R"({"p":["s",0],"sd":"b"})", NA, "does not match the deleted text"},
        {R"({"p":["s",2],"sd":"x"})", NA, "does not match the deleted text"},
        {R"({"p":["s",2],"si":"x"})", IT, "surrogate pair"},
        // unknown subtype and other malformed components (rejected by the parse, before anything is applied)
        {R"({"p":["s"],"t":"rich-text","o":[]})", BF, "unknown subtype 'rich-text'"},
        {R"({"p":["s"],"si":"x"})", BF, "text0 component missing position field"},
        {R"({"p":["l",-1],"li":1})", BF, "path elements must be"},
    };
    for (const Case &c : cases) {
        SCOPED_TRACE(c.component);
        for (const std::string &text : {"[" + std::string(c.component) + "]", "[" + prefix + c.component + "]"}) {
            json0::Value v = json0::Value::from_json(J(doc).get());
            const std::string before = v.dump();
            ErrorKind kind{};
            const std::string msg = TypedErr([&] { json0::apply(v, json0::parse_op(std::string_view(text))); }, &kind);
            EXPECT_EQ(kind, c.kind) << msg;
            EXPECT_NE(msg.find(c.message), std::string::npos) << msg;
            if (c.kind == NA) { // named by its component: 0 alone, 10 after the prefix
                const char *named = text.find(prefix) == 1 ? "json0 op component 10: " : "json0 op component 0: ";
                EXPECT_EQ(msg.rfind(named, 0), 0u) << msg;
            }
            EXPECT_EQ(v.dump(), before); // unchanged, object key order included
            // the JSON API and the snapshot agree
            EXPECT_TRUE(ThrowsKind([&] { (void)Apply(doc, text); }, c.kind));
            std::unique_ptr<Snapshot> snap = T().create(J(doc).get());
            EXPECT_TRUE(ThrowsKind([&] { snap->apply(J(text).get()); }, c.kind));
            EXPECT_EQ(D(snap->to_json()), before);
        }
    }
    // The valid prefix alone applies.
    json0::Value v = json0::Value::from_json(J(doc).get());
    json0::apply(v, json0::parse_op(std::string_view("[" + prefix.substr(0, prefix.size() - 1) + "]")));
    ExpectJson(v.to_json(), R"({"l":["first",2,{"x":"y"},1],"o":{"a":1,"b":"!xy","c":[true],"d":{"new":[1]}},
                              "s":"<😀b","n":6,"z":"nz",
                              "big":{"k0":0,"k1":1,"k2":2,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10}})");
}

TEST(Json0Typed, RollbackFindsStringsThatGrewAndMoved) {
    const char *doc = R"({"l":["ab",{"s":"x"}],"o":{"k":"y"}})";
    // Strings grow (and move) and the list around them shifts before the last component fails.
    const std::string good = R"([{"p":["l",0,2],"si":"cdefghijklmnopqrstuvwxyz0123456789"},{"p":["l",0],"li":"new"},
                        {"p":["l",1,0],"si":"Z"},{"p":["l",2,"s",1],"si":"yyyyyyyyyyyyyyyyyyyyyyyyyy"},
                        {"p":["o","k",0],"sd":"y"},{"p":["o","k2"],"oi":"zzzzzzzzzzzzzzzzzzzzzzzzzzzzz"},
                        {"p":["o","k2",3],"si":"!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"},{"p":["l",1,1],"sd":"a"}])";
    const std::string bad = good.substr(0, good.size() - 1) + R"(,{"p":["l",0],"ld":"wrong"}])";
    json0::Value v = json0::Value::from_json(J(doc).get());
    const std::string before = v.dump();
    EXPECT_TRUE(
        ThrowsKind([&] { json0::apply(v, json0::parse_op(std::string_view(bad))); }, ErrorKind::OpNotApplicable));
    EXPECT_EQ(v.dump(), before);
    json0::apply(v, json0::parse_op(std::string_view(good)));
    ExpectJson(v.to_json(), R"({"l":["new","Zbcdefghijklmnopqrstuvwxyz0123456789",{"s":"xyyyyyyyyyyyyyyyyyyyyyyyyyy"}],
                               "o":{"k":"","k2":"zzz!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!zzzzzzzzzzzzzzzzzzzzzzzzzz"}})");
}

TEST(Json0Typed, TransformMatchesTheJsonApi) {
    int n = 0;
    for (const Case &c : kReferenceCases) {
        if (std::string(c.fn) != "transform") continue;
        SCOPED_TRACE(std::string(c.a) + " " + c.b + " " + c.side);
        const json0::Op r = json0::transform(json0::parse_op(std::string_view(c.a)),
                                             json0::parse_op(std::string_view(c.b)), parse_side(c.side));
        ExpectJson(json0::to_json(r), c.expected);
        n++;
    }
    EXPECT_GT(n, 50);
    // values are shared, not copied, and the inputs are not modified
    const json0::Op a = json0::parse_op(std::string_view(R"([{"p":["x"],"oi":{"big":[1,2,3]}}])"));
    const json0::Op b = json0::parse_op(std::string_view(R"([{"p":["x"],"oi":{"other":1}}])"));
    const json0::Op r = json0::transform(a, b, Side::Left);
    ExpectJson(json0::to_json(r), R"([{"p":["x"],"od":{"other":1},"oi":{"big":[1,2,3]}}])");
    EXPECT_EQ(r[0].ins.get(), a[0].ins.get());
    EXPECT_EQ(r[0].del.get(), b[0].ins.get());
    ExpectJson(json0::to_json(a), R"([{"p":["x"],"oi":{"big":[1,2,3]}}])");
}

TEST(Json0Typed, ValueObjectsKeepOrderAcrossTheIndex) {
    json0::Value v = json0::Value::object();
    json0::Object &o = v.obj();
    for (int i = 0; i < 40; i++)
        o.append("k" + std::to_string(i), json0::Value::integer(i));
    for (int i = 0; i < 40; i++)
        ASSERT_NE(o.find("k" + std::to_string(i)), nullptr);
    EXPECT_EQ(o.find("k40"), nullptr);
    json0::Object::Member m = o.remove_at(o.index_of("k7"));
    EXPECT_EQ(m.first, "k7");
    EXPECT_EQ(o.find("k7"), nullptr);
    EXPECT_EQ(o.find("k39")->int_value(), 39);
    o.insert_at(7, "k7", std::move(m.second));
    EXPECT_EQ(o.index_of("k7"), 7u);
    json0::Value copy = v;
    EXPECT_TRUE(json0::js_equal(copy, v));
    EXPECT_EQ(copy.obj().find("k20")->int_value(), 20);
    EXPECT_EQ(json_dump(v.to_json().get()).substr(0, 22), R"({"k0":0,"k1":1,"k2":2,)");
}

} // namespace
} // namespace collab
