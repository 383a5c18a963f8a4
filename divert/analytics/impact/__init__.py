"""The impact evaluation: the model, its control series and its verdict."""
