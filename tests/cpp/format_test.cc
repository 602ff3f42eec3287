#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <random>

#include "ir/graph.h"
#include "lwai/model.h"
#include "tests/cpp/test_graphs.h"

namespace lwai::testing {
namespace {

void ExpectSameGraph(const Graph& a, const Graph& b) {
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  ASSERT_EQ(a.nodes.size(), b.nodes.size());
  for (size_t t = 0; t < a.tensors.size(); ++t) {
    EXPECT_EQ(a.tensors[t].name, b.tensors[t].name);
    EXPECT_EQ(a.tensors[t].dtype, b.tensors[t].dtype);
    EXPECT_EQ(a.tensors[t].ShapeString(), b.tensors[t].ShapeString());
    ASSERT_EQ(a.tensors[t].constant.size, b.tensors[t].constant.size);
    if (a.tensors[t].constant.size) {
      EXPECT_EQ(0, std::memcmp(a.tensors[t].constant.data, b.tensors[t].constant.data,
                               a.tensors[t].constant.size));
    }
  }
  for (size_t n = 0; n < a.nodes.size(); ++n) {
    EXPECT_EQ(a.nodes[n].name, b.nodes[n].name);
    EXPECT_EQ(a.nodes[n].op, b.nodes[n].op);
    EXPECT_EQ(a.nodes[n].inputs, b.nodes[n].inputs);
    EXPECT_EQ(a.nodes[n].outputs, b.nodes[n].outputs);
    ASSERT_EQ(a.nodes[n].attributes.size(), b.nodes[n].attributes.size());
    for (size_t i = 0; i < a.nodes[n].attributes.size(); ++i) {
      EXPECT_EQ(a.nodes[n].attributes[i].name, b.nodes[n].attributes[i].name);
      EXPECT_EQ(a.nodes[n].attributes[i].ints, b.nodes[n].attributes[i].ints);
    }
  }
  EXPECT_EQ(a.inputs, b.inputs);
  EXPECT_EQ(a.outputs, b.outputs);
}

TEST(Format, BinaryRoundTripKeepsEverythingAndAlignsWeights) {
  auto model = MakeConvModel();
  auto image = model->Serialize();
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  auto loaded = Model::LoadBuffer(image->data(), image->size(), true);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ExpectSameGraph(model->graph(), (*loaded)->graph());
  EXPECT_EQ((*loaded)->info().producer, "lwai tests");
  for (const TensorDesc& t : (*loaded)->graph().tensors) {
    if (t.is_constant()) EXPECT_EQ(reinterpret_cast<uintptr_t>(t.constant.data) % 64, 0u) << t.name;
  }
}

TEST(Format, FileLoadIsZeroCopyFromTheMapping) {
  auto model = MakeConvModel();
  const std::string path = ::testing::TempDir() + "/conv.lwai";
  ASSERT_TRUE(model->Save(path).ok());
  auto loaded = Model::LoadFile(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ExpectSameGraph(model->graph(), (*loaded)->graph());
  // Constants of a mapped file point into one contiguous mapping, in file order.
  const Graph& g = (*loaded)->graph();
  const uint8_t* first = g.tensors[g.FindTensor("conv.w")].constant.data;
  const uint8_t* second = g.tensors[g.FindTensor("conv.b")].constant.data;
  EXPECT_EQ(second - first, 64 * ((3 * 2 * 3 * 3 * 4 + 63) / 64));
  std::remove(path.c_str());
}

TEST(Format, JsonRoundTrip) {
#ifndef LWAI_WITH_JSON
  GTEST_SKIP() << "built without JSON (LWAI_WITH_JSON=OFF)";
#endif
  auto model = MakeConvModel();
  auto json = model->ToJson();
  ASSERT_TRUE(json.ok()) << json.status().ToString();
  EXPECT_NE(json->find("\"BatchNormalization\""), std::string::npos);
  auto loaded = Model::LoadJson(*json);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ExpectSameGraph(model->graph(), (*loaded)->graph());
}

TEST(Format, RejectsEveryTruncation) {
  auto image = MakeConvModel()->Serialize();
  ASSERT_TRUE(image.ok());
  for (size_t size = 0; size < image->size(); size += 7) {
    auto loaded = Model::LoadBuffer(image->data(), size, true);
    EXPECT_FALSE(loaded.ok()) << "truncated to " << size << " bytes was accepted";
    if (!loaded.ok()) EXPECT_EQ(loaded.status().code(), StatusCode::kInvalidModel);
  }
}

TEST(Format, CorruptedBytesNeverCrash) {
  auto image = MakeConvModel()->Serialize();
  ASSERT_TRUE(image.ok());
  std::mt19937 rng(42);
  int rejected = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    std::vector<uint8_t> corrupted = *image;
    for (int flips = 0; flips < 4; ++flips) {
      corrupted[rng() % corrupted.size()] = static_cast<uint8_t>(rng());
    }
    auto loaded = Model::LoadBuffer(corrupted.data(), corrupted.size(), true);
    if (!loaded.ok()) {
      ++rejected;
      EXPECT_FALSE(loaded.status().message().empty());
    }
  }
  // Some flips land in weight bytes and are legitimately accepted; most are not.
  EXPECT_GT(rejected, 100);
}

TEST(Format, RejectsWrongIdentifierAndNamesTheFile) {
  const std::string path = ::testing::TempDir() + "/not_a_model.lwai";
  FILE* f = std::fopen(path.c_str(), "wb");
  std::fputs("this is not a model at all", f);
  std::fclose(f);
  auto loaded = Model::LoadFile(path);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), StatusCode::kInvalidModel);
  EXPECT_NE(loaded.status().message().find(path), std::string::npos);
  EXPECT_NE(loaded.status().message().find("LWAI"), std::string::npos);
  std::remove(path.c_str());
  auto missing = Model::LoadFile(path);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

TEST(Format, ValidateCatchesOutOfRangeIndicesAndCycles) {
  auto model = MakeConvModel();
  Graph g = model->graph();
  g.nodes[2].inputs[0] = 999;
  Status s = g.Validate();
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel);
  EXPECT_NE(s.message().find("relu"), std::string::npos);

  Graph cyclic = model->graph();
  // relu reads add's output, add reads relu's output: a cycle.
  cyclic.nodes[2].inputs[0] = cyclic.nodes[3].outputs[0];
  EXPECT_EQ(cyclic.SortTopologically().code(), StatusCode::kInvalidModel);
}

TEST(Format, ValidateCatchesConstantSizeMismatch) {
  auto model = MakeConvModel();
  Graph g = model->graph();
  g.tensors[g.FindTensor("conv.b")].constant.size = 8;
  Status s = g.Validate();
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel);
  EXPECT_NE(s.message().find("conv.b"), std::string::npos);
}

TEST(Format, ValidateCatchesDuplicateAndEmptyNames) {
  auto model = MakeConvModel();
  Graph g = model->graph();
  g.tensors[g.FindTensor("y")].name = "conv.w";
  Status s = g.Validate();
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel);
  EXPECT_NE(s.message().find("tensor name 'conv.w' is used twice"), std::string::npos)
      << s.ToString();
  Graph unnamed = model->graph();
  unnamed.tensors[unnamed.FindTensor("y")].name.clear();
  unnamed.tensors[unnamed.FindTensor("z")].name.clear();
  s = unnamed.Validate();
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel);
  EXPECT_NE(s.message().find("has no name"), std::string::npos) << s.ToString();
  EXPECT_TRUE(model->graph().Validate().ok());
}

}  // namespace
}  // namespace lwai::testing
