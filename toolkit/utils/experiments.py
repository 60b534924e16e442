"""What an experiment dir says about its training run, for result tables."""
import json
from pathlib import Path


def _load(path: Path):
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def training_summary(exp_dir: str | Path) -> dict[str, str]:
    """Trainable parameters (model.json), epochs, training minutes and mean items/second
    (history.json), formatted for a table; empty strings where a file is missing."""
    exp_dir = Path(exp_dir)
    history = _load(exp_dir / "history.json") or []
    model = _load(exp_dir / "model.json") or {}
    rates = [h["train_items_per_s"] for h in history if "train_items_per_s" in h]
    return {"params": f"{model['trainable_params'] / 1e6:.2f}M" if model else "",
            "epochs": str(len(history)) if history else "",
            "train_min": f"{sum(h['seconds'] for h in history) / 60:.1f}" if history else "",
            "items_per_s": f"{sum(rates) / len(rates):.0f}" if rates else ""}
