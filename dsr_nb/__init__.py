"""dsr_nb: DSR surface anomaly detection, exported from the notebooks in `nbs/`."""
__version__ = "0.1.0"

from dsr_nb.config import DSRConfig
from dsr_nb.vqvae import VQVAE
from dsr_nb.model import DSR, Prediction
