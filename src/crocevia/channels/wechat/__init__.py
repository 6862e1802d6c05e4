"""WeChat Official Account channel (kind ``wechat``)."""
