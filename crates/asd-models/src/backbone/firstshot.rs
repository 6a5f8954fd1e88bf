//! The network of the DCASE 2025 first-shot system (seed 003; firstshot2025.md §7–8.3): [`SeResNet`] embeds the
//! log-Mel, a **main** AdaCos head with fixed (random, untrained) centres classifies the embedding into the C
//! section × domain × attribute classes, and a **self-supervised** AdaCos head with trainable centres classifies the
//! FeatEx embedding into the 9C expanded classes. Only the embedding is used after training: the heads exist for
//! the loss (`asd_losses::adacos`), so the counts' MACs are the backbone's.

use crate::backbone::se_resnet::{SeResNet, SeResNetConfig};
use crate::count::{LayerRow, ModelCount};
use crate::head::adacos::{AdaCos, AdaCosConfig};
use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Tensor, assert_shape};

/// How many times the self-supervised head's classes outnumber the main head's: StatEx triples them, FeatEx
/// triples them again (firstshot2025.md §6.3–6.4, C → 3C → 9C).
pub const SSL_CLASS_FACTOR: usize = 9;

/// Settings of [`FirstShot`].
#[derive(Config, Debug)]
pub struct FirstShotConfig {
    /// The embedding network.
    pub backbone: SeResNetConfig,
    /// Classes C of the main head (section × domain × attribute, and the supplemental classes).
    pub n_classes: usize,
    /// Centres per class of both heads (1: plain AdaCos; Wilkinghoff uses 16, firstshot2025.md §8.2).
    #[config(default = 1)]
    pub n_subclusters: usize,
    /// Mel bands of the input log-Mel.
    pub n_mels: usize,
    /// Frames of the input log-Mel.
    pub frames: usize,
}

impl FirstShotConfig {
    /// The heads' settings: the main head (C classes, fixed) and the self-supervised head (9C, trainable).
    fn heads(&self) -> [AdaCosConfig; 2] {
        let d = self.backbone.embedding_dim;
        [
            AdaCosConfig::new(d, self.n_classes)
                .with_n_subclusters(self.n_subclusters)
                .with_trainable(false),
            AdaCosConfig::new(d, SSL_CLASS_FACTOR * self.n_classes).with_n_subclusters(self.n_subclusters),
        ]
    }

    /// Checks the backbone, the heads (an even embedding, split in two halves by FeatEx) and the input size.
    ///
    /// # Errors
    /// [`crate::Error::Config`] naming the setting.
    pub fn check(&self) -> crate::Result<()> {
        self.backbone.check()?;
        let [main, ssl] = self.heads();
        main.check("main_head")?;
        ssl.check("ssl_head")?;
        let bad = |field: &str, reason: &str| {
            Err(crate::Error::Config {
                field: field.into(),
                reason: reason.into(),
            })
        };
        if self.backbone.embedding_dim % 2 != 0 {
            return bad(
                "embedding_dim",
                "must be even: FeatEx exchanges the embedding's second half",
            );
        }
        if self.n_mels == 0 || self.frames == 0 {
            return bad("n_mels", "the log-Mel must have at least one band and one frame");
        }
        Ok(())
    }

    /// Builds the network.
    ///
    /// # Errors
    /// As [`FirstShotConfig::check`].
    pub fn init(&self, device: &Device) -> crate::Result<FirstShot> {
        self.check()?;
        let [main, ssl] = self.heads();
        Ok(FirstShot {
            backbone: self.backbone.init(device)?,
            main: main.init(device),
            ssl: ssl.init(device),
            input: [self.n_mels, self.frames],
        })
    }
}

/// The first-shot network (module docs).
#[derive(Module, Debug)]
pub struct FirstShot {
    /// SE-ResNet18.
    pub backbone: SeResNet,
    /// The main head: C classes, fixed centres.
    pub main: AdaCos,
    /// The self-supervised head: 9C classes, trainable centres.
    pub ssl: AdaCos,
    /// The input size `[n_mels, frames]` (for the counts).
    pub input: [usize; 2],
}

impl FirstShot {
    /// The embedding of a batch of log-Mels (not normalised).
    ///
    /// # Shapes
    /// - `logmel`: `[batch, n_mels, frames]`; output `[batch, embedding_dim]`
    pub fn embed(&self, logmel: Tensor<3>) -> Tensor<2> {
        let [n_mels, frames] = self.input;
        assert_shape!(logmel, [_, n_mels, frames]);
        self.backbone.forward(logmel.unsqueeze_dim(1))
    }

    /// The layer table: the backbone's rows, then both heads (the main head's centres are not trained, so its row
    /// counts no parameter).
    pub fn layers(&self) -> Vec<LayerRow> {
        let mut rows = self.backbone.layers(self.input);
        let mut main = self.main.layer("main");
        main.count.params = 0;
        rows.push(main);
        rows.push(self.ssl.layer("ssl"));
        rows
    }

    /// Trainable parameters (backbone and the self-supervised head's centres); as the paper counts them, the
    /// backbone alone (firstshot2025.md §7: 11 389 376); MACs of the backbone, which is all that runs after
    /// training.
    pub fn count(&self) -> ModelCount {
        let backbone = self.backbone.count(self.input);
        let ssl = self.ssl.layer("ssl").count;
        ModelCount {
            params: backbone.params + ssl.params,
            params_paper: backbone.params,
            macs: backbone.macs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Criterion (firstshot2025.md §7–8.3): the paper's counts for the backbone whatever C, the SSL head's 9C
    /// trainable centres, a fixed main head, and the embedding's shape.
    #[test]
    fn counts_and_heads() {
        let device = Device::flex().autodiff();
        let net = FirstShotConfig::new(SeResNetConfig::new(), 10, 128, 313)
            .init(&device)
            .expect("paper sizes");
        let count = net.count();
        assert_eq!(count.params_paper, 11_389_376);
        assert_eq!(count.params, 11_389_376 + 256 * 90);
        assert_eq!(count.macs, 1_411_130_368);
        assert!(!net.main.centres.is_require_grad() && net.ssl.centres.is_require_grad());
        assert_eq!((net.main.n_centres(), net.ssl.n_centres()), (10, 90));
        let small = FirstShotConfig::new(
            SeResNetConfig::new().with_widths([16; 4]).with_embedding_dim(8),
            3,
            16,
            20,
        )
        .init(&device)
        .expect("small sizes");
        let e = small.embed(Tensor::zeros([2, 16, 20], &device));
        assert_eq!(e.dims(), [2, 8]);
        let odd = FirstShotConfig::new(SeResNetConfig::new().with_embedding_dim(7), 3, 16, 20);
        assert!(odd.check().is_err());
    }
}
