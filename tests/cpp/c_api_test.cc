// The C API (lwai/lwai_c.h), driven from C (c_api_checks.c), against the C++ API.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <vector>

#include "lwai/model.h"
#include "lwai/session.h"
#include "tests/cpp/c_api_checks.h"
#include "tests/cpp/net_builder.h"

namespace lwai::testing {
namespace {

// A small CNN: Conv -> Relu -> Conv, one float input [1, 3, 12, 12].
std::vector<uint8_t> SmallCnnImage() {
  Net n(7);
  const int x = n.Input({1, 3, 12, 12});
  const int c = n.Conv(x, 3, 8, {3, 3});
  const int r = n.Op(OpType::Relu, {c});
  n.Conv(r, 8, 4, {3, 3});
  auto model = n.Build();
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  auto image = model.value()->Serialize();
  EXPECT_TRUE(image.ok()) << image.status().ToString();
  return image.value();
}

TEST(CApi, RunsLikeTheCppApiInCallerMemory) {
  const std::vector<uint8_t> image = SmallCnnImage();
  std::vector<float> x(3 * 12 * 12);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.37f * static_cast<float>(i));
  const int64_t dims[] = {1, 3, 12, 12};
  std::vector<float> y(1024);
  size_t y_count = 0;
  char error[512] = "";
  ASSERT_EQ(RunThroughCApi(image.data(), image.size(), x.data(), dims, 4, y.data(), y.size(),
                           &y_count, error, sizeof(error)),
            0)
      << error;

  auto model = Model::LoadBuffer(image.data(), image.size());
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  auto session = Session::Create(model.value());
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  TensorRef input{DataType::kFloat32, Shape{1, 3, 12, 12}, x.data()};
  ASSERT_TRUE(session.value()->Run({input}).ok());
  const TensorRef want = session.value()->output(0);
  ASSERT_EQ(static_cast<int64_t>(y_count), want.shape.NumElements());
  EXPECT_EQ(want.shape, (Shape{1, 4, 8, 8}));
  const float* expected = static_cast<const float*>(want.data);
  for (size_t i = 0; i < y_count; ++i) EXPECT_EQ(y[i], expected[i]) << "element " << i;
}

TEST(CApi, MisuseGetsAStatusAndAMessageNamingTheProblem) {
  const std::vector<uint8_t> image = SmallCnnImage();
  char error[512] = "";
  EXPECT_EQ(
      CheckCApiErrors(image.data(), image.size(), "/nonexistent/model.lwai", error, sizeof(error)),
      0)
      << error;
}

}  // namespace
}  // namespace lwai::testing
