{
  "targets": [
    {
      "target_name": "rlcd",
      "sources": [
        "native/backend/cpu_backend.cpp",
        "native/kernels/attention.cpp",
        "native/kernels/causal_attention.cpp",
        "native/kernels/embedding.cpp",
        "native/kernels/gemm.cpp",
        "native/kernels/matmul_packed.cpp",
        "native/kernels/matmul_q8.cpp",
        "native/kernels/peak.cpp",
        "native/kernels/rmsnorm.cpp",
        "native/kernels/rope.cpp",
        "native/kernels/softmax.cpp",
        "native/kernels/swiglu.cpp",
        "native/model/config.cpp",
        "native/model/generate.cpp",
        "native/model/lora.cpp",
        "native/model/objective.cpp",
        "native/model/sampler.cpp",
        "native/model/score.cpp",
        "native/model/trainable.cpp",
        "native/model/transformer.cpp",
        "native/model/weights.cpp",
        "native/losses/bradley_terry.cpp",
        "native/losses/dpo.cpp",
        "native/losses/logprobs.cpp",
        "native/losses/ppo.cpp",
        "native/optim/adamw.cpp",
        "native/binding/addon.cpp",
        "native/binding/config_args.cpp",
        "native/binding/generate_args.cpp",
        "native/binding/model_wrap.cpp",
        "native/binding/trainer_wrap.cpp"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED"
      ],
      "cflags!": [
        "-fno-exceptions"
      ],
      "cflags_cc!": [
        "-fno-exceptions"
      ],
      "cflags_cc": [
        "-std=c++17",
        "-O3",
        "-mavx2",
        "-mfma",
        "-fopenmp",
        "-fno-math-errno"
      ],
      "ldflags": [
        "-fopenmp"
      ]
    }
  ]
}
