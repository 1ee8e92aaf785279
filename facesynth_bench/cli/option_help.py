"""Help texts shared by several commands' options (kept free of library imports)."""

DATASET_HELP = "Dataset folder (identity folders, flat <id>_<i> files, grids or train.rec)."
LAYOUT_HELP = "Layout: auto (detect), folder, flat, grid or recordio."
