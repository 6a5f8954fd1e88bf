//! Offline stand-in for `cubecl-llvm` 0.11.3: the items `cubecl-cuda` 0.11.3 names, without the LLVM
//! backend (see `README.md`). Every entry point that would need LLVM returns a [`CompilationError`].

use cubecl_core::ir::DeviceProperties;
use cubecl_core::ir::amd::GfxArch;
use cubecl_core::ir::nvidia::SmArch;
use cubecl_core::prelude::KernelDefinition;
use cubecl_environment::backtrace::BackTrace;
use cubecl_runtime::compiler::CompilationError;
use cubecl_runtime::kernel::BufferIOAttr;

const UNAVAILABLE: &str = "this build replaced cubecl-llvm with an offline stand-in, so the LLVM backend is \
                           unavailable: build with cubecl-cuda's `cpp` feature (asd's `cuda` feature does)";

/// The targets the real crate compiles for; only the one cubecl-cuda names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LlvmTarget {
    /// NVIDIA PTX.
    #[default]
    Nvptx,
}

/// Options of the LLVM backend, as cubecl-cuda fills them in.
#[derive(Clone, Debug, Default)]
pub struct PlironOptions {
    /// AMDGPU architecture (unused by the NVIDIA target).
    pub arch: Option<GfxArch>,
    /// NVPTX architecture.
    pub sm_arch: Option<SmArch>,
    /// PTX version to emit.
    pub ptx_version: Option<nvptx::ptx_version::PtxVersion>,
    /// Scalars in the kernel parameter block.
    pub grid_constants: bool,
}

/// A module the LLVM backend would have emitted (never built by this stand-in).
#[derive(Clone, Debug)]
pub struct NvptxModule {
    /// PTX text.
    pub ptx: Vec<core::ffi::c_char>,
    /// Kernel entry point.
    pub entrypoint: String,
    /// LLVM IR.
    pub ir: String,
    /// Dynamic shared memory in bytes.
    pub shared_memory_size: usize,
    /// Buffer read / write attributes.
    pub io: Vec<BufferIOAttr>,
}

/// What a compilation hands back.
#[derive(Clone, Debug)]
pub enum PlironArtifact {
    /// A PTX module.
    NvptxCode(NvptxModule),
}

/// The LLVM compiler; here every compilation fails with a message naming the stand-in.
#[derive(Clone, Debug, Default)]
pub struct PlironCompiler {
    /// The target it compiles for.
    pub target: LlvmTarget,
}

impl PlironCompiler {
    /// Always an error: this build has no LLVM.
    pub fn compile(
        &mut self,
        _kernel: KernelDefinition,
        _options: &PlironOptions,
    ) -> Result<PlironArtifact, CompilationError> {
        Err(CompilationError::Generic { reason: UNAVAILABLE.to_string(), backtrace: BackTrace::capture() })
    }

    /// The language tag of the real crate's NVPTX target.
    pub fn lang_tag(&self) -> &'static str {
        "llvm"
    }
}

/// Items of the real crate's `shared` module.
pub mod shared {
    /// Device features narrowed to what a GPU target lowers.
    pub mod lowered_features {
        use super::super::DeviceProperties;

        /// The GPU target a device's features are narrowed for.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum GpuTarget {
            /// NVIDIA PTX.
            Nvptx,
        }

        /// Called by cubecl-cuda only when the LLVM backend is selected, which the `cpp` feature prevents;
        /// the properties are left as they are.
        pub fn restrict_features(_props: &mut DeviceProperties, _target: GpuTarget) {}
    }
}

/// Items of the real crate's `nvptx` module.
pub mod nvptx {
    /// PTX versions.
    pub mod ptx_version {
        use core::fmt;

        /// A PTX ISA version (`ptx{major}{minor}`).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub struct PtxVersion(u32);

        impl PtxVersion {
            /// The PTX version a driver loads; the stand-in leaves it to the driver (`None`), which only the
            /// LLVM backend would read.
            pub fn for_driver(_driver: i32) -> Option<Self> {
                None
            }
        }

        impl fmt::Display for PtxVersion {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "ptx{}", self.0)
            }
        }
    }
}
