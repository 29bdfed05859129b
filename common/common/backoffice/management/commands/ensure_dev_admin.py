from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Local stack only: create the superuser admin/admin if it does not exist."

    def handle(self, *args, **options) -> None:
        if settings.ENVIRONMENT != "local":
            raise CommandError("refusing to create admin/admin outside the local stack (DJANGO_ENVIRONMENT is not local)")
        user_model = get_user_model()
        if user_model.objects.filter(username="admin").exists():
            self.stdout.write("dev admin exists (admin / admin)")
            return
        user_model.objects.create_superuser("admin", "admin@localhost", "admin")
        self.stdout.write("dev admin created (admin / admin)")
