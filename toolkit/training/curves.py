"""Learning-curve plot from a trainer's history (one record per epoch)."""
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def plot_learning_curves(history: list[dict], path: str | Path, metric: str) -> None:
    """Train/dev loss and the dev metric per epoch, side by side, saved as a PNG."""
    epochs = [h["epoch"] for h in history]
    fig, (ax_loss, ax_metric) = plt.subplots(1, 2, figsize=(10, 3.8))
    ax_loss.plot(epochs, [h["train_loss"] for h in history], "o-", label="train")
    if all("dev_loss" in h for h in history):
        ax_loss.plot(epochs, [h["dev_loss"] for h in history], "s-", label="dev")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("loss")
    ax_loss.legend()
    ax_loss.grid(alpha=0.3)
    ax_metric.plot(epochs, [h[f"dev_{metric}"] for h in history], "o-", color="C2")
    ax_metric.set_xlabel("epoch")
    ax_metric.set_ylabel(f"dev {metric}")
    ax_metric.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
