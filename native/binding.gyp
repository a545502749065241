{
  "targets": [
    {
      "target_name": "kiln_native",
      "sources": [
        "src/addon.cc",
        "src/allocator.cc",
        "src/ops_elementwise.cc",
        "src/ops_reduce.cc",
        "src/ops_linalg.cc",
        "src/ops_conv.cc",
        "src/ops_shape.cc",
        "src/ops_image.cc",
        "src/ops_fused.cc"
      ],
      "include_dirs": ["<!(node -p \"process.env.KILN_TORCH_INCLUDE || '/usr/include/torch/csrc/api/include'\")"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-O3", "-ffp-contract=off", "-fno-trapping-math", "-fopenmp", "-Wno-unused-parameter"],
      "ldflags": ["-fopenmp"],
      "libraries": ["-ltorch", "-ltorch_cpu", "-lc10", "-ldl"]
    }
  ]
}
