"""Models of the catalog."""

from django.db import models


class Item(models.Model):
    """One named entry of the catalog, stamped with the time it was added."""

    name = models.CharField(max_length=200)
    created = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self):
        return str(self.name)

    def as_dict(self):
        """Return the item as the API shows it."""
        return {"id": self.pk, "name": self.name, "created": self.created.isoformat()}
